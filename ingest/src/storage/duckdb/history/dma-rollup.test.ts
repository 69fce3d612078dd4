/**
 * The per-DMA daily rollup against a worked example with answers counted by hand: registers interpolated
 * at midnight (Tokyo), the in-day spread, coverage, night flow (02:00–04:00), the inlet apart; and a late
 * reading that revises a closed day, and the day next to it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type EmbeddedStore } from '../index.js';
import type { StorableMessage } from '../../types.js';

const DAY2 = Date.UTC(2026, 10, 24, 15, 0, 0); // 2026-11-25 00:00 in Tokyo
const H = 3_600_000;
const at = (dayOffset: number, h: number, m = 0) => DAY2 + dayOffset * 24 * H + h * H + m * 60_000;

let seq = 0;
const reading = (deviceId: string, ts: number, indexL: number, flowLph?: number): StorableMessage => ({
  channel: 'telemetry',
  type: 'water-meter',
  deviceId,
  receivedAt: ts,
  payload: { v: 1, id: deviceId, boot: 1, seq: seq++, ts, samples: [{ ts, indexL, ...(flowLph === undefined ? {} : { flowLph }) }] } as Telemetry,
});

describe('per-DMA daily rollup', () => {
  let store: EmbeddedStore;
  let now = at(1, 12);
  const attrs: Record<string, Record<string, unknown>> = { 'wm-a': { dma: 'nakano-3' }, 'wm-b': { dma: 'nakano-3' }, 'bulk-1': { dma: 'nakano-3', site: 'dma-inlet' } };

  beforeEach(async () => {
    now = at(1, 12);
    store = await openEmbeddedStore(':memory:', { clock: () => now, attributes: (id) => attrs[id] });
  });
  afterEach(async () => {
    await store.close();
  });

  it('interpolates registers at midnight, counts meters and night flow, and keeps the inlet apart', async () => {
    await store.writer.write([
      // Meter A: 1000 at 23:30 the day before and 1020 at 00:30 → 1010 at midnight; 1200 at 23:00 and
      // 1260 at 01:00 the day after → 1230 at midnight. Day 2: 1230 − 1010 = 220 L (in-day spread 180 L).
      reading('wm-a', at(-1, 23, 30), 1000),
      reading('wm-a', at(0, 0, 30), 1020),
      reading('wm-a', at(0, 2, 30), 1030, 6),
      reading('wm-a', at(0, 3, 30), 1040, 8),
      reading('wm-a', at(0, 12), 1100),
      reading('wm-a', at(0, 23), 1200),
      reading('wm-a', at(1, 1), 1260),
      // Meter B reports on day 2 only: 560 − 500 = 60 L, nothing interpolated.
      reading('wm-b', at(0, 8), 500, 0),
      reading('wm-b', at(0, 20), 560, 30),
      // The inlet: 10000 at 23:45 and 10040 at 00:15 → 10020; 10400 at 23:45 and 10440 at 00:15 → 10420: 400 L.
      reading('bulk-1', at(-1, 23, 45), 10_000),
      reading('bulk-1', at(0, 0, 15), 10_040, 80),
      reading('bulk-1', at(0, 23, 45), 10_400),
      reading('bulk-1', at(1, 0, 15), 10_440),
    ]);
    await store.history.refreshDmaDays();
    const days = await store.api.history.dmaDays('nakano-3', at(-1, 0), at(2, 0));
    expect(days.map((d) => d.t)).toEqual([at(-1, 0), at(0, 0), at(1, 0)]);
    expect(days[1]).toEqual({
      t: at(0, 0),
      customers: { meters: 2, samples: 7, litres: 280, spreadLitres: 240, nightFlowLph: 7, nightMeters: 1 },
      inlet: { meters: 1, samples: 2, litres: 400, spreadLitres: 360, nightFlowLph: null, nightMeters: 0 },
      provisional: false,
    });
    // Day 1 (A: 1000 at 23:30 → midnight at 1010: 10 L of the interval after it; inlet: 20 L).
    expect(days[0]).toMatchObject({ customers: { meters: 1, litres: 10 }, inlet: { meters: 1, litres: 20 } });

    // The same volumes per meter and day from the device rollups (one meter's daily usage).
    const a = await store.api.history.deviceSeries('wm-a', 'water-meter', { from: at(-1, 0), to: at(2, 0), interval: '1d' }, ['usage']);
    expect(a.map((p) => p.values.indexL!.usage)).toEqual([10, 220, 30]);

    // A late reading revises day 2 (and day 3, whose start it moves) after they were closed.
    now = at(4, 12);
    await store.history.closeDays();
    await store.writer.write([reading('wm-b', at(1, 6), 600)]);
    expect((await store.api.history.dmaDays('nakano-3', at(0, 0), at(2, 0)))[1]!.provisional).toBe(true);
    await store.history.refreshDmaDays();
    const revised = await store.api.history.dmaDays('nakano-3', at(0, 0), at(2, 0));
    // B: 560 at 20:00 on day 2, 600 at 06:00 on day 3 → 40 L in 10 h; 16 L of it before midnight.
    expect(revised.map((d) => d.customers.litres)).toEqual([296, 30 + 24]);
    expect(revised[1]!.customers.meters).toBe(2);
  });
});
