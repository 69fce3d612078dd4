/**
 * The aggregation API (issue 15): a device's readings per 15 min, hour or day with the aggregates asked
 * for, a group's series by type or DMA, a DMA's daily balance, and the bound on points, with answers
 * counted by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance } from 'fastify';
import type { EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage } from '../storage/types.js';
import { historyApp, type HistoryApp } from './history-app.fixture.js';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0); // 2026-11-24 00:00 in Tokyo
const H = 3_600_000;
const Q = 15 * 60_000;

let seq = 0;
const meter = (deviceId: string, ts: number, indexL: number, flowLph: number): StorableMessage => ({
  channel: 'telemetry',
  type: 'water-meter',
  deviceId,
  receivedAt: ts,
  payload: { v: 1, id: deviceId, boot: 1, seq: seq++, ts, samples: [{ ts, indexL, flowLph }] } as Telemetry,
});

describe('aggregation API', () => {
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let fixture: HistoryApp;
  const get = async (url: string) => app.inject({ url, headers: auth });

  beforeAll(async () => {
    const dma = (id: string, attributes: Record<string, string>) => ({ id, attributes });
    fixture = await historyApp({
      token: TOKEN,
      clock: () => DAY0 + 30 * H,
      devices: [dma('wm-1', { dma: 'nakano-3' }), dma('wm-2', { dma: 'nakano-3' }), dma('bulk-1', { dma: 'nakano-3', site: 'dma-inlet' }), dma('wm-9', { dma: 'toyosu-1' }), { id: 'rn-1', type: 'ring-node', attributes: { island: 'oshima' } }],
    });
    ({ app, store } = fixture);
    // wm-1: every 15 min for the whole day, flow 4 L/h in even quarters and 8 in odd ones, 1 L a quarter.
    // wm-2: one reading an hour, 10 L an hour, flow 40. The inlet: 25 L an hour. wm-9: another DMA.
    const batch: StorableMessage[] = [];
    for (let k = 0; k <= 96; k++) batch.push(meter('wm-1', DAY0 + k * Q, 1000 + k, k % 2 === 0 ? 4 : 8));
    for (let h = 0; h <= 24; h++) batch.push(meter('wm-2', DAY0 + h * H, 5000 + 10 * h, 40), meter('bulk-1', DAY0 + h * H, 90_000 + 25 * h, 100), meter('wm-9', DAY0 + h * H, 7 * h, 7));
    await store.writer.write(batch);
  });
  afterAll(() => fixture.close());

  it('aggregates one device per hour from the rollups and per 15 minutes from the readings, empty buckets included', async () => {
    const res = await get(`/api/v1/devices/wm-1/readings?from=${DAY0}&to=${DAY0 + 3 * H}&interval=1h&agg=count,mean,min,max,last,usage`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ deviceId: 'wm-1', type: 'water-meter', from: DAY0, to: DAY0 + 3 * H, interval: '1h', count: 3 });
    expect(body.points[0]).toEqual({
      t: DAY0,
      n: 4,
      values: { indexL: { count: 4, min: 1000, max: 1003, last: 1003, usage: 4 }, flowLph: { count: 4, mean: 6, min: 4, max: 8, last: 8 }, batteryPct: { count: 0, mean: null, min: null, max: null, last: null },
        // LoRaWAN radio readings (issue 20), absent from these meters' samples.
        rssiDbm: { count: 0, mean: null, min: null, max: null, last: null }, snrDb: { count: 0, mean: null, min: null, max: null, last: null } },
    });
    const quarters = (await get(`/api/v1/devices/wm-1/readings?from=${DAY0 + H}&to=${DAY0 + H + 2 * Q}&interval=15m&agg=mean,last&reading=flowLph`)).json();
    expect(quarters.points).toEqual([
      { t: DAY0 + H, n: 1, values: { flowLph: { mean: 4, last: 4 } } },
      { t: DAY0 + H + Q, n: 1, values: { flowLph: { mean: 8, last: 8 } } },
    ]);
    const day = (await get(`/api/v1/devices/wm-1/readings?from=${DAY0}&to=${DAY0 + 48 * H}&interval=1d&agg=usage,mean`)).json();
    // 96 litres on the day (its last reading, 00:00 the next day, is that day's); the next day holds one reading.
    expect(day.points.map((p: { values: { indexL: { usage: number } } }) => p.values.indexL.usage)).toEqual([96, 0]);
    expect(day.points[0].values.flowLph.mean).toBe(6);
  });

  it('answers a group per type and a DMA\'s customer meters, with its inlet apart, and a DMA\'s daily balance from its rollup', async () => {
    const byType = (await get(`/api/v1/series?type=water-meter&reading=flowLph&from=${DAY0}&to=${DAY0 + H}&interval=1h&agg=count,mean,max`)).json();
    expect(byType).toMatchObject({ type: 'water-meter', reading: 'flowLph', devices: 4, count: 1 });
    // 4 samples of wm-1 (mean 6) and one each of wm-2 (40), bulk-1 (100), wm-9 (7): (24 + 147) / 7.
    expect(byType.points).toEqual([{ t: DAY0, devices: 4, values: { count: 7, mean: 171 / 7, max: 100 } }]);

    const dma = (await get(`/api/v1/series?dma=nakano-3&reading=indexL&from=${DAY0}&to=${DAY0 + H}&interval=1h&agg=usage`)).json();
    expect(dma.devices).toBe(2);
    expect(dma.points).toEqual([{ t: DAY0, devices: 2, values: { usage: 4 + 10 }, inlet: { devices: 1, values: { usage: 25 } } }]);

    const balance = (await get(`/api/v1/series?dma=nakano-3&reading=indexL&from=${DAY0}&to=${DAY0 + 24 * H}&interval=1d&agg=usage,count`)).json();
    expect(balance.points).toMatchObject([{ t: DAY0, devices: 2, values: { usage: 96 + 240, count: 96 + 24 }, inlet: { devices: 1, values: { usage: 600, count: 24 } } }]);
    // Every meter read at both midnights: the balance is complete, 600 − 336 L lost.
    expect(balance.points[0].balance).toMatchObject({ connections: 2, covered: 2, estimated: 0, missing: 0, coveragePct: 100, customerLitres: 336, inletLitres: 600, nonRevenueLitres: 264, nonRevenuePct: 44, complete: true, incomplete: [] });
    // One implementation of a DMA's day: the water bureau's page shows the same figures.
    const daily = (await get(`/api/v1/water/dmas/nakano-3/daily?from=${DAY0}&to=${DAY0 + 24 * H}`)).json();
    expect(daily.days.map((d: { balance: unknown }) => d.balance)).toEqual([balance.points[0].balance]);
  });

  it('bounds the points and says which limit, and refuses what cannot be aggregated', async () => {
    const year = await get(`/api/v1/devices/wm-1/readings?from=${DAY0 - 365 * 24 * H}&to=${DAY0}&interval=1h`);
    expect(year.statusCode).toBe(400);
    expect(year.json().message).toBe('interval: from–to holds 8,760 buckets of 1h; at most 2,000 points per request: ask for a shorter range or a longer interval (1d)');
    expect((await get(`/api/v1/devices/wm-1/readings?from=${DAY0 - 365 * 24 * H}&to=${DAY0}&interval=1d`)).statusCode).toBe(200);
    expect((await get(`/api/v1/devices/wm-1/readings?interval=1h&agg=median`)).json().message).toMatch(/agg: must match pattern/);
    expect((await get(`/api/v1/devices/rn-1/readings?interval=1h`)).json().message).toBe('interval: ring nodes report segment states, not numeric readings; ask for their readings without interval');
    expect((await get(`/api/v1/devices/wm-1/readings?interval=1h&reading=airTempC`)).json().message).toBe('reading: airTempC is not a numeric reading of a water-meter; use indexL, flowLph, batteryPct, rssiDbm, snrDb');
    expect((await get(`/api/v1/series?type=water-meter&dma=nakano-3&reading=indexL&interval=1d`)).json().message).toBe('type, dma: give one of them (a device type, or a DMA id), not both');
    // Times at Date's limits (the property test's boundary values): a 400 naming the parameter, never a 500.
    for (const url of [`/api/v1/series?dma=nakano-3&reading=indexL&interval=1d&agg=usage&to=-8640000000000000`, `/api/v1/devices/wm-1/readings?interval=1d&to=-8640000000000000`, `/api/v1/series?type=water-meter&reading=flowLph&interval=1h&from=8640000000000000`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toMatch(/^(from|to): must/);
    }
  });
});
