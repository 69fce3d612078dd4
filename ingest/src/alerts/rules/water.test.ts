import { describe, expect, it } from 'vitest';
import { evaluateDmaNights, onWaterEvent, onWaterSamples } from './water.js';
import { testContext } from './test-context.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0); // 12:00 JST
const Q = 15 * 60_000;
const H = 3_600_000;

/** Samples every 15 min with the given litres per interval. */
function series(litresPerQuarter: (i: number) => number, n: number, start = T0, index0 = 1000, extra: (i: number) => object = () => ({})) {
  let index = index0;
  return Array.from({ length: n }, (_, i) => {
    if (i > 0) index += litresPerQuarter(i);
    return { ts: start + i * Q, indexL: index, ...extra(i) };
  });
}

describe('water rules', () => {
  it('leak: raises after 24 h without a flow-free hour, clears after one dry hour', () => {
    const ctx = testContext();
    onWaterSamples(ctx, 'wm', series(() => 2, 4 * 25));
    expect(ctx.active('water-leak').map((c) => c.deviceId)).toEqual(['wm']);
    const last = 1000 + 2 * 99;
    onWaterSamples(ctx, 'wm', series(() => 0, 5, T0 + 100 * Q, last).slice(1));
    expect(ctx.active('water-leak')).toEqual([]);
  });

  it('leak: a household with quiet nights never raises', () => {
    const ctx = testContext();
    // Use only between 06:00 and 24:00 JST (21:00–15:00 UTC): dry from 00:00 to 06:00 JST.
    onWaterSamples(ctx, 'wm', series((i) => ((new Date(T0 + i * Q).getUTCHours() + 9) % 24 >= 6 ? 5 : 0), 4 * 72));
    expect(ctx.active()).toEqual([]);
  });

  it('burst: flow above 10 % of nominal for 30 min, not for a 15-minute shower', () => {
    const ctx = testContext();
    // 2500 L/h nominal → 250 L/h; a 15-min shower of 100 L (400 L/h) then normal use.
    onWaterSamples(ctx, 'wm', series((i) => (i === 2 ? 100 : 5), 6));
    expect(ctx.active('water-burst')).toEqual([]);
    onWaterSamples(ctx, 'wm', series(() => 80, 4, T0 + 5 * Q, 1000 + 5 * 4 + 100).slice(1));
    expect(ctx.active('water-burst')).toHaveLength(1);
  });

  it('backflow, low battery with deadband, and the meter\'s own flags and events', () => {
    const ctx = testContext();
    onWaterSamples(ctx, 'wm', [{ ts: T0, indexL: 500, batteryPct: 9.5, alarms: ['tamper'] }, { ts: T0 + Q, indexL: 495, batteryPct: 9.9 }]);
    expect(ctx.active().map((c) => `${c.rule}/${c.object ?? ''}`).sort()).toEqual(['meter-alarm/tamper', 'water-backflow/', 'water-low-battery/']);
    onWaterSamples(ctx, 'wm', [{ ts: T0 + 2 * Q, indexL: 496, batteryPct: 12, alarms: [] }]);
    expect(ctx.active().map((c) => c.rule).sort()).toEqual(['water-low-battery']); // 12 % is inside the 5-point deadband
    onWaterSamples(ctx, 'wm', [{ ts: T0 + 3 * Q, indexL: 497, batteryPct: 15.5 }]);
    expect(ctx.active()).toEqual([]);
    onWaterEvent(ctx, 'wm', 'burst');
    expect(ctx.active()[0]).toMatchObject({ rule: 'meter-alarm', object: 'burst', severity: 'major' });
  });

  it('welfare watch: only with welfareWatch = true, after the configured hours (or the household\'s own)', () => {
    const ctx = testContext({ watched: { welfareWatch: true }, short: { welfareWatch: 'true', welfareHours: 4 }, other: {} });
    const idle = series((i) => (i === 1 ? 10 : 0), 4 * 13);
    for (const id of ['watched', 'short', 'other']) onWaterSamples(ctx, id, idle);
    expect(ctx.active('welfare-watch').map((c) => c.deviceId).sort()).toEqual(['short', 'watched']);
    onWaterSamples(ctx, 'watched', [{ ts: T0 + 52 * Q, indexL: 1015 }]);
    expect(ctx.active('welfare-watch').map((c) => c.deviceId)).toEqual(['short']);
  });

  it('DMA minimum night flow: learns a baseline from normal nights and raises on a night well above it', () => {
    const ctx = testContext({ a: { dma: 'd1' }, b: { dma: 'd1' } });
    // 02:00–04:00 JST is 17:00–19:00 UTC. Night use 10 L/h per meter for 4 nights, then meter a leaks 40 L/h.
    const start = Date.UTC(2026, 10, 22, 17, 0, 0);
    for (let night = 0; night < 5; night++) {
      for (const id of ['a', 'b']) {
        const lph = id === 'a' && night === 4 ? 50 : 10;
        const from = start + night * 24 * H - Q;
        onWaterSamples(ctx, id, series(() => (lph * Q) / H, 10, from, 1000 + night * 10_000));
      }
      ctx.setNow(start + night * 24 * H + 4 * H);
      evaluateDmaNights(ctx);
    }
    const [mnf] = ctx.active('dma-night-flow');
    expect(mnf).toMatchObject({ deviceId: 'dma:d1', value: 60 });
    expect(mnf!.message).toContain('baseline 20 L/h');
  });
});
