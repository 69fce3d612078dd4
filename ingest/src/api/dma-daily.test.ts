/**
 * A DMA's daily usage from /api/v1/series is its water balance (ingest/src/water/balance.ts), worked by
 * hand: registers interpolated at midnight (Tokyo) between the readings either side, a meter that
 * reported on the day only estimated at its mean flow (never counted as zero, never as read), the inlet
 * apart; a late reading revises the day at once. One meter's own daily usage comes from its rollups.
 * (The worked example of issue 15's per-DMA rollup, which this replaced.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance } from 'fastify';
import type { EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage } from '../storage/types.js';
import { historyApp, type HistoryApp } from './history-app.fixture.js';

const TOKEN = 'test-admin-token-0123456789';
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

describe('a DMA day', () => {
  let store: EmbeddedStore;
  let app: FastifyInstance;
  let fixture: HistoryApp;
  const now = at(4, 12);
  const day2 = async () => {
    const res = await app.inject({ url: `/api/v1/series?dma=nakano-3&reading=indexL&from=${at(0, 0)}&to=${at(1, 0)}&interval=1d&agg=usage`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    return res.json().points[0];
  };

  beforeAll(async () => {
    fixture = await historyApp({ token: TOKEN, clock: () => now, devices: [{ id: 'wm-a', attributes: { dma: 'nakano-3' } }, { id: 'wm-b', attributes: { dma: 'nakano-3' } }, { id: 'bulk-1', attributes: { dma: 'nakano-3', site: 'dma-inlet' } }] });
    ({ app, store } = fixture);
  });
  afterAll(() => fixture.close());

  it('interpolates registers at midnight, estimates a meter read on the day only, keeps the inlet apart', async () => {
    await store.writer.write([
      // Meter A: 1000 at 23:30 the day before and 1020 at 00:30 → 1010 at midnight; 1200 at 23:00 and
      // 1260 at 01:00 the day after → 1230 at midnight. Day 2: 1230 − 1010 = 220 L, read around both ends.
      reading('wm-a', at(-1, 23, 30), 1000),
      reading('wm-a', at(0, 0, 30), 1020),
      reading('wm-a', at(0, 2, 30), 1030, 6),
      reading('wm-a', at(0, 3, 30), 1040, 8),
      reading('wm-a', at(0, 12), 1100),
      reading('wm-a', at(0, 23), 1200),
      reading('wm-a', at(1, 1), 1260),
      // Meter B reports on day 2 only: 500 at 08:00 and 560 at 20:00, 5 L/h. Its registers at the
      // midnights are estimated at that rate: 500 − 8 × 5 = 460 and 560 + 4 × 5 = 580, so 120 L estimated.
      reading('wm-b', at(0, 8), 500, 0),
      reading('wm-b', at(0, 20), 560, 30),
      // The inlet: 10000 at 23:45 and 10040 at 00:15 → 10020; 10400 at 23:45 and 10440 at 00:15 → 10420: 400 L.
      reading('bulk-1', at(-1, 23, 45), 10_000),
      reading('bulk-1', at(0, 0, 15), 10_040, 80),
      reading('bulk-1', at(0, 23, 45), 10_400),
      reading('bulk-1', at(1, 0, 15), 10_440),
    ]);
    const p = await day2();
    expect(p).toMatchObject({ t: at(0, 0), devices: 2, values: { usage: 340 }, inlet: { devices: 1, values: { usage: 400 } } });
    // 400 − 340 = 60 L (15 %), but half the customer meters are estimated: not a figure to act on.
    expect(p.balance).toMatchObject({ connections: 2, covered: 1, estimated: 1, missing: 0, coveragePct: 50, customerLitres: 340, estimatedLitres: 120, inletLitres: 400, inletCovered: true, nonRevenueLitres: 60, nonRevenuePct: 15, complete: false });

    // One meter's daily usage comes from its rollups, interpolated at the same midnights (A: 10, 220, 30).
    const a = await store.api.history.deviceSeries('wm-a', 'water-meter', { from: at(-1, 0), to: at(2, 0), interval: '1d' }, ['usage']);
    expect(a.map((x) => x.values.indexL!.usage)).toEqual([10, 220, 30]);
  });

  it('revises the day at once when a late reading arrives', async () => {
    // B: 600 at 06:00 on day 3. Its end of day 2 is now read around: 560 + 40 × 4/10 = 576. Its start is
    // still estimated, at its mean rate over the readings now known, 100 L in 22 h: 500 − 8 × 100/22.
    await store.writer.write([reading('wm-b', at(1, 6), 600)]);
    const p = await day2();
    const b = 576 - (500 - (8 * 100) / 22);
    expect(p.values.usage).toBeCloseTo(220 + b, 1);
    expect(p.balance).toMatchObject({ covered: 1, estimated: 1, inletLitres: 400 });
  });
});
