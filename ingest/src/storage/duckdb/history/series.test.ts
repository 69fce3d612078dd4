/**
 * One device's daily series (what GET /api/v1/devices/:id/readings?interval=1d answers), worked by hand:
 * a register read on the hour, 10 L an hour, so every Japan day holds 24 readings and 240 L, whether its
 * rollups are closed, open or still pending. The reader merges only the readings asked for and inlines
 * the device id in its SQL (series.ts), so the answers must not depend on either: same figures with and
 * without `only`, and an id that SQL would misread (a quote, the word `day`) answered like any other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type EmbeddedStore } from '../index.js';
import type { StorableMessage } from '../../types.js';
import { sqlString } from './series.js';

const DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0); // 2026-11-24 00:00 in Tokyo
const H = 3_600_000;
const D = 24 * H;

let seq = 0;
const hourly = (deviceId: string, fromHour: number, toHour: number): StorableMessage[] =>
  Array.from({ length: toHour - fromHour }, (_, i) => {
    const k = fromHour + i;
    const ts = DAY0 + k * H;
    return { channel: 'telemetry', type: 'water-meter', deviceId, receivedAt: ts, payload: { v: 1, id: deviceId, boot: 1, seq: seq++, ts, samples: [{ ts, indexL: 1000 + 10 * k, flowLph: 600 + (k % 2) * 20 }] } as Telemetry };
  });

describe('one device per day', () => {
  let store: EmbeddedStore;
  // Day 0 and 1 closed, day 2 open (its last hours still pending), day 3 not begun.
  const now = DAY0 + 2 * D + 23.5 * H;
  const ids = ["wm-o'neil", 'wm-day-1', 'wm-plain'];

  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:', { clock: () => now });
    for (const id of ids) await store.writer.write(hourly(id, 0, 2 * D / H + 20));
    await store.history.fold();
    await store.history.closeDays();
    for (const id of ids) await store.writer.write(hourly(id, 2 * D / H + 20, 3 * D / H));
  });
  afterEach(() => store.close());

  it('gives 24 readings and 240 L a day, and the same figures whichever readings are asked for', async () => {
    const range = { from: DAY0, to: DAY0 + 4 * D, interval: '1d' as const };
    for (const id of ids) {
      const indexOnly = await store.api.history.deviceSeries(id, 'water-meter', range, ['usage', 'count', 'last'], ['indexL']);
      expect(indexOnly.map((p) => [p.t, p.n, p.values.indexL])).toEqual([
        [DAY0, 24, { usage: 240, count: 24, last: 1230 }],
        [DAY0 + D, 24, { usage: 240, count: 24, last: 1470 }],
        // The day's end is the last reading (23:00): no reading after it to interpolate towards.
        [DAY0 + 2 * D, 24, { usage: 230, count: 24, last: 1710 }],
        [DAY0 + 3 * D, 0, { usage: null, count: 0, last: null }],
      ]);
      expect(Object.keys(indexOnly[0]!.values)).toEqual(['indexL']);
      const all = await store.api.history.deviceSeries(id, 'water-meter', range, ['usage', 'count', 'last', 'mean']);
      expect(all.map((p) => p.values.indexL)).toEqual(indexOnly.map((p) => p.values.indexL));
      expect(all.map((p) => p.values.flowLph!.mean)).toEqual([610, 610, 610, null]);
    }
  });

  it('merges a late reading into a closed day the same whether it is still pending or folded', async () => {
    // 12:30 on day 1, between the readings of 12:00 (1360 L) and 13:00 (1370 L); flow 700 L/h, the day's highest.
    const ts = DAY0 + D + 12.5 * H;
    const late: StorableMessage = { channel: 'telemetry', type: 'water-meter', deviceId: 'wm-plain', receivedAt: now, payload: { v: 1, id: 'wm-plain', boot: 1, seq: seq++, ts, samples: [{ ts, indexL: 1365, flowLph: 700 }] } as Telemetry };
    await store.writer.write([late]);
    const range = { from: DAY0 + D, to: DAY0 + 2 * D, interval: '1d' as const };
    const ask = () => store.api.history.deviceSeries('wm-plain', 'water-meter', range, ['usage', 'count', 'min', 'max', 'last', 'mean'], ['indexL', 'flowLph']);
    const expected = [{ t: DAY0 + D, n: 25, values: { indexL: { usage: 240, count: 25, min: 1240, max: 1470, last: 1470 }, flowLph: { count: 25, min: 600, max: 700, last: 620, mean: (12 * 600 + 12 * 620 + 700) / 25 } } }];
    expect(await ask()).toEqual(expected);
    await store.history.fold();
    expect(await ask()).toEqual(expected);
  });

  it('writes a device id as a SQL string whatever it holds', () => {
    expect(sqlString("wm-o'neil")).toBe("'wm-o''neil'");
    expect(sqlString("'; DROP TABLE x; --")).toBe("'''; DROP TABLE x; --'");
  });
});
