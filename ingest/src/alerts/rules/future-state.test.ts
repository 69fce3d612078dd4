import { expect, it } from 'vitest';
import { onBsPowerSamples, plantOf } from './bs-power.js';
import { forgetFutureState } from './future-state.js';
import { onRingSamples, segmentState } from './ring.js';
import { testContext } from './test-context.js';
import { onWaterSamples } from './water.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const Q = 15 * 60_000;
const Y2099 = Date.UTC(2099, 0, 1);

it('a meter whose rule state holds a 2099 sample raises nothing more, until that state is forgotten at start', () => {
  const ctx = testContext();
  ctx.setNow(T0);
  // What the rules kept before the pipeline refused samples from the future.
  onWaterSamples(ctx, 'wm-1', [{ ts: T0 - Q, indexL: 1000 }]);
  onWaterSamples(ctx, 'wm-1', [{ ts: Y2099, indexL: 1001 }]);
  const tamper = [{ ts: T0, indexL: 1002, alarms: ['tamper' as const] }];
  onWaterSamples(ctx, 'wm-1', tamper);
  expect(ctx.active('meter-alarm')).toEqual([]); // silenced: the bug

  // Other devices' state, one of them also from the future.
  onBsPowerSamples(ctx, 'bs-1', [{ ts: T0 - Q, mains: 'on' }]);
  onBsPowerSamples(ctx, 'bs-2', [{ ts: Y2099, mains: 'on' }]);
  onRingSamples(ctx, 'rn-niijima', [{ ts: Y2099, segments: [{ id: 'toshima-niijima', state: 'up' }] }]);
  onRingSamples(ctx, 'rn-toshima', [{ ts: T0 - Q, segments: [{ id: 'toshima-niijima', state: 'down' }] }]);
  expect(segmentState(ctx, 'toshima-niijima')).toBe('down');

  expect(forgetFutureState(ctx.state, T0 + 5 * 60_000).sort()).toEqual(['bs:bs-2', 'ring:segments', 'water:wm-1']);
  expect(plantOf(ctx, 'bs-1')).toMatchObject({ ts: T0 - Q }); // kept: not from the future
  expect(plantOf(ctx, 'bs-2')).toBeNull();
  expect(Object.keys(ctx.state.get<Record<string, object>>('ring:segments')!['toshima-niijima']!)).toEqual(['rn-toshima']);

  onWaterSamples(ctx, 'wm-1', [{ ts: T0 + Q, indexL: 1003, alarms: ['tamper'] }]);
  expect(ctx.active('meter-alarm').map((c) => [c.deviceId, c.object])).toEqual([['wm-1', 'tamper']]);
  // The later live plant reading is taken again too.
  onBsPowerSamples(ctx, 'bs-2', [{ ts: T0, mains: 'off' }]);
  expect(ctx.active('mains-lost').map((c) => c.deviceId)).toEqual(['bs-2']);
});
