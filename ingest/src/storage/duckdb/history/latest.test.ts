/**
 * Latest values kept as data arrives (issue 15): late or replayed data never overwrites a newer value, a
 * value stamped beyond the server clock plus the allowed skew is never taken, and the answer is the same
 * before and after the pending rows are folded in and after a rebuild from the raw rows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type EmbeddedStore } from '../index.js';
import type { StorableMessage } from '../../types.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const MIN = 60_000;

const msg = (type: StorableMessage['type'], deviceId: string, seq: number, samples: Array<{ ts: number } & Record<string, unknown>>, replay = false): StorableMessage => ({
  channel: 'telemetry',
  type,
  deviceId,
  receivedAt: T0,
  payload: { v: 1, id: deviceId, boot: 1, seq, ts: samples[0]!.ts, samples, ...(replay ? { replay: true } : {}) } as Telemetry,
});

describe('latest values', () => {
  let store: EmbeddedStore;
  let now = T0;
  beforeEach(async () => {
    now = T0;
    store = await openEmbeddedStore(':memory:', { clock: () => now, latestNotAfter: () => now + 5 * MIN });
  });
  afterEach(async () => {
    await store.close();
  });

  /** The same answer pending, folded, and rebuilt from the raw rows. */
  async function expectLatest(deviceId: string, type: StorableMessage['type'], expected: object): Promise<void> {
    expect(await store.readings.latestReadings(deviceId, type)).toEqual(expected);
    await store.history.fold();
    expect(await store.readings.latestReadings(deviceId, type)).toEqual(expected);
    await store.history.rebuild();
    expect(await store.readings.latestReadings(deviceId, type)).toEqual(expected);
  }

  it('never lets late or replayed data overwrite a newer value, reading by reading', async () => {
    await store.writer.write([msg('bs-power', 'bs-1', 0, [{ ts: T0, batterySocPct: 80, mains: 'off' }])]);
    await store.history.fold();
    // A replayed buffer from an hour ago arrives after: older values, one reading the newer sample lacked.
    await store.writer.write([msg('bs-power', 'bs-1', 1, [{ ts: T0 - 60 * MIN, batterySocPct: 95, mains: 'on', fuelPct: 40 }], true)]);
    // The same instant again with another value: not newer, so it changes nothing.
    await store.writer.write([msg('bs-power', 'bs-1', 2, [{ ts: T0, batterySocPct: 10 }])]);
    await expectLatest('bs-1', 'bs-power', { batterySocPct: { value: 80, ts: T0 }, mains: { value: 'off', ts: T0 }, fuelPct: { value: 40, ts: T0 - 60 * MIN } });
  });

  it('orders two values of the same instant by value, the same before the fold, after it and rebuilt', async () => {
    await store.writer.write([msg('bs-power', 'bs-3', 0, [{ ts: T0, batterySocPct: 50, mains: 'on' }]), msg('water-meter', 'wm-3', 0, [{ ts: T0, indexL: 5, alarms: ['leak'] }])]);
    await store.history.fold();
    // The same instants again, with greater values: still waiting for the fold, they already are the latest.
    await store.writer.write([msg('bs-power', 'bs-3', 1, [{ ts: T0, batterySocPct: 70 }]), msg('bs-power', 'bs-3', 2, [{ ts: T0, batterySocPct: 60, mains: 'off' }])]);
    await store.writer.write([msg('water-meter', 'wm-3', 1, [{ ts: T0, indexL: 4, alarms: ['reverse-flow'] }]), msg('water-meter', 'wm-3', 2, [{ ts: T0, alarms: ['leak', 'tamper'] }])]);
    await expectLatest('bs-3', 'bs-power', { batterySocPct: { value: 70, ts: T0 }, mains: { value: 'on', ts: T0 } });
    await expectLatest('wm-3', 'water-meter', { indexL: { value: 5, ts: T0 }, alarms: { value: ['reverse-flow'], ts: T0 } });
  });

  it('takes nothing stamped beyond the clock bound, and falls back to the raw rows when the clock is set back', async () => {
    await store.writer.write([msg('water-meter', 'wm-1', 0, [{ ts: T0 - MIN, indexL: 100 }]), msg('water-meter', 'wm-1', 1, [{ ts: T0 + 60 * MIN, indexL: 999 }])]);
    await expectLatest('wm-1', 'water-meter', { indexL: { value: 100, ts: T0 - MIN } });
    // A scenario clock set back before the stored latest value: the answer is still bounded.
    await store.writer.write([msg('water-meter', 'wm-1', 2, [{ ts: T0 + 2 * MIN, indexL: 120 }])]);
    await store.history.fold();
    now = T0 - 4 * MIN; // bound: T0 + 1 min, before the stored latest value (T0 + 2 min)
    expect(await store.readings.latestReadings('wm-1', 'water-meter')).toEqual({ indexL: { value: 100, ts: T0 - MIN } });
  });

  it('keeps a meter\'s newest alarm list: a changed list replaces it, the same list only moves its time, an older one changes nothing', async () => {
    await store.writer.write([msg('water-meter', 'wm-2', 0, [{ ts: T0 - 60 * MIN, indexL: 10, alarms: ['leak'] }])]);
    await store.history.fold();
    await store.writer.write([msg('water-meter', 'wm-2', 1, [{ ts: T0 - 45 * MIN, indexL: 11, alarms: ['leak'] }])]);
    await store.history.fold();
    expect(await store.readings.latestReadings('wm-2', 'water-meter')).toEqual({ indexL: { value: 11, ts: T0 - 45 * MIN }, alarms: { value: ['leak'], ts: T0 - 45 * MIN } });
    await store.writer.write([msg('water-meter', 'wm-2', 2, [{ ts: T0 - 30 * MIN, indexL: 12, alarms: [] }])]);
    await store.history.fold();
    // A replayed buffer with an older alarm after the list was cleared.
    await store.writer.write([msg('water-meter', 'wm-2', 3, [{ ts: T0 - 40 * MIN, indexL: 99, alarms: ['reverse-flow'] }], true)]);
    await expectLatest('wm-2', 'water-meter', { indexL: { value: 12, ts: T0 - 30 * MIN }, alarms: { value: [], ts: T0 - 30 * MIN } });
  });

  it('keeps each ring segment\'s latest state, supervisory channel and level', async () => {
    const ring = (seq: number, ts: number, segments: object[]) => msg('ring-node', 'rn-1', seq, [{ ts, segments }]);
    await store.writer.write([ring(0, T0, [{ id: 'oshima-toshima', state: 'up', rxDbm: -12 }, { id: 'toshima-niijima', state: 'up' }])]);
    await store.writer.write([ring(1, T0 + MIN, [{ id: 'oshima-toshima', state: 'down', supervisory: 'down' }])]);
    await store.writer.write([ring(2, T0 - MIN, [{ id: 'oshima-toshima', state: 'up', rxDbm: -30 }])]);
    await expectLatest('rn-1', 'ring-node', {
      segments: { value: [{ id: 'oshima-toshima', state: 'down', rxDbm: -12, supervisory: 'down' }, { id: 'toshima-niijima', state: 'up' }], ts: T0 + MIN },
    });
  });
});
