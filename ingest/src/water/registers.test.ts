/**
 * Registers from the day and hour rollups give what the raw readings give (issue 15): the same register at
 * every Japan midnight and at the hours of the night figures, the same readings used and the same breaks, for meters with reverse flow, rollovers,
 * meters swapped (resets), silent days, readings on the very midnight, two readings of one instant, and data
 * arriving late into days already folded and closed. The raw query is the reference: its answers are
 * checked against hand-made exact cases over the whole stack (test/water-volumes.test.ts) and the water
 * scenario's ground truth (test/water-scenario-scored.test.ts).
 */
import { Rng } from '../../../test/fuzz/rng.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage } from '../storage/types.js';
import { DEFAULT_REGISTER_SETTINGS, judgeStep, reachGroups, registersAt, registersInOneRead, type WaterReader } from './registers.js';

const H = 3_600_000;
const D = 24 * H;
const JST_DAY0 = Date.UTC(2026, 9, 31, 15, 0, 0); // 2026-11-01 00:00 in Tokyo

/** A seeded generator, so a failure can be replayed. */
const rng = (seed: number) => {
  const r = new Rng(seed);
  return () => r.next();
};

const reading = (deviceId: string, seq: number, samples: Array<{ ts: number; indexL: number }>, receivedAt: number): StorableMessage => ({
  channel: 'telemetry',
  type: 'water-meter',
  deviceId,
  receivedAt,
  payload: { v: 1, id: deviceId, boot: 1, seq, ts: samples[0]!.ts, samples } as Telemetry,
});

describe('registers from rollups', () => {
  let store: EmbeddedStore;
  let now: number;
  beforeEach(async () => {
    now = JST_DAY0;
    store = await openEmbeddedStore(':memory:', { clock: () => now, attributes: () => ({ dma: 'dma-1' }) });
  });
  afterEach(() => store.close());

  /** The product's reader, with the SQL it ran; and one without rollups: the raw reference. */
  const readers = () => {
    const sql: string[] = [];
    const days: WaterReader = { ...store.api.water, all: (q, p, t) => (sql.push(q), store.api.water.all(q, p, t)) };
    const { registerBuckets: _, ...raw } = store.api.water;
    return { days, raw: raw as WaterReader, sql };
  };

  it('agree with the raw readings on a month of awkward meters, at every midnight, however the data arrived', async () => {
    const random = rng(20261206);
    const devices = Array.from({ length: 12 }, (_, i) => `wm-${i}`);
    const messages: StorableMessage[] = [];
    for (const [k, id] of devices.entries()) {
      let index = k === 0 ? 99_990_000 : Math.floor(random() * 1_000_000); // wm-0 rolls over in its first days
      let seq = 0;
      const step = [15 * 60_000, H, 6 * H, 24 * H][k % 4]!;
      for (let t = JST_DAY0 - 3 * D + (k % 3 === 0 ? 0 : Math.floor(random() * step)); t < JST_DAY0 + 28 * D; t += step) {
        if (k === 5 && t > JST_DAY0 + 9 * D && t < JST_DAY0 + 14 * D) continue; // silent five days
        if ((k === 6 && t > JST_DAY0 + 20.3 * D) || (k === 7 && t < JST_DAY0 + 5.5 * D)) continue; // fell silent; enrolled late
        const r = random();
        if (r < 0.004) index = Math.floor(random() * 500); // swapped or reprogrammed
        else if (r < 0.02) index = Math.max(0, index - Math.floor(random() * 30)); // reverse flow
        else index += Math.floor(random() * (k === 1 ? 4000 : 60)); // wm-1 is an inlet
        index %= 100_000_000;
        const samples = [{ ts: t, indexL: index }];
        if (random() < 0.01) samples.push({ ts: t, indexL: index + 3 }); // two values of one instant
        messages.push(reading(id, seq++, samples, t));
      }
    }
    // Heard last before the final midnight, next at the very end of the reach (two days after it).
    messages.push(reading('wm-edge', 0, [{ ts: JST_DAY0 + 24.25 * D, indexL: 700 }], JST_DAY0 + 24.25 * D), reading('wm-edge', 1, [{ ts: JST_DAY0 + 27 * D, indexL: 1000 }, { ts: JST_DAY0 + 27 * D + H, indexL: 1001 }], JST_DAY0 + 27 * D + H));
    devices.push('wm-edge');
    messages.sort((a, b) => a.receivedAt - b.receivedAt);
    // A twentieth arrives late, after its day was folded and closed.
    const late = messages.filter(() => random() < 0.05);
    const onTime = messages.filter((m) => !late.includes(m));
    for (let i = 0; i < onTime.length; ) {
      const batch = onTime.slice(i, (i += 1 + Math.floor(random() * 120)));
      now = Math.max(now, batch.at(-1)!.receivedAt + 60_000);
      await store.writer.write(batch);
      if (random() < 0.2) await store.history.fold();
      if (random() < 0.2) await store.history.closeDays();
    }
    for (let i = 0; i < late.length; i += 7) await store.writer.write(late.slice(i, i + 7));
    if (random() < 2) await store.history.fold();

    const { days, raw, sql } = readers();
    const midnights = Array.from({ length: 26 }, (_, i) => JST_DAY0 + i * D);
    // The rollups always (a city's worth of readings is not needed to compare the answers).
    const s = { ...DEFAULT_REGISTER_SETTINGS, rollupsAboveReadings: 0 };
    // A DMA's night figures ask for 02:00, 04:00 and both midnights of each date.
    const nights = Array.from({ length: 8 }, (_, i) => JST_DAY0 + (5 + i) * D).flatMap((d) => [d + 2 * H, d + 4 * H, d, d + D]);
    // Moments far apart (a month's use against the month before and last year's) are read in groups and
    // joined; the reference reads every reading in reach at once. Meters roll over, are swapped and run
    // backwards in the gaps between the groups too.
    const apart = [midnights[0]!, midnights[9]!, midnights[10]!, midnights[16]!, midnights[25]!];
    expect(reachGroups(apart, s.maxGapMs)).toHaveLength(4);
    for (const moments of [midnights, midnights.slice(3, 4), [midnights[22]!, midnights[20]!, midnights[21]!], nights, [JST_DAY0 + 7 * D + 13 * H, JST_DAY0 + 8 * D + H], apart, [...apart, JST_DAY0 + 16 * D + 3 * H].reverse()]) {
      sql.length = 0;
      const [fromDays, fromRaw] = [await registersAt(days, devices, moments, s), await registersInOneRead(raw, devices, moments, s)];
      // The day rows answered (the raw rows only for days that fell or are not known).
      expect(sql.some((q) => q.includes('segs AS'))).toBe(true);
      const byTs = (b: { deviceId: string; ts: number }) => `${b.deviceId}|${b.ts}`;
      expect([...fromDays.breaks].sort((a, b) => byTs(a).localeCompare(byTs(b)))).toEqual([...fromRaw.breaks].sort((a, b) => byTs(a).localeCompare(byTs(b))));
      for (const id of devices) {
        const [a, b] = [fromDays.at.get(id)!, fromRaw.at.get(id)!];
        expect(a.map((r) => ({ ...r, litres: r.litres === null ? null : Math.round(r.litres * 1e6) / 1e6, indexL: r.indexL === null ? null : Math.round(r.indexL * 1e6) / 1e6 }))).toEqual(
          b.map((r) => ({ ...r, litres: r.litres === null ? null : Math.round(r.litres * 1e6) / 1e6, indexL: r.indexL === null ? null : Math.round(r.indexL * 1e6) / 1e6 })),
        );
      }
      if (moments === midnights) {
        // The data is awkward enough to matter: breaks of both kinds, estimates and unknowns both sides.
        expect(new Set(fromRaw.breaks.map((b) => b.kind))).toEqual(new Set(['rollover', 'reset']));
        const hows = new Set([...fromRaw.at.values()].flat().map((r) => r.how));
        expect(hows).toEqual(new Set(['read', 'interpolated', 'extrapolated', 'unknown']));
      }
    }
  }, 120_000);

  it('see readings still pending (not yet folded), whatever the meter is called', async () => {
    // An id with the word "day" in it: the pending rows' filter rewrites `day`, never inside a literal.
    const readings = Array.from({ length: 12 }, (_, k) => ({ ts: JST_DAY0 + k * 6 * H, indexL: 1000 + k * 100 }));
    await store.writer.write(readings.map((r, k) => reading('wm-day-7', k, [r], now)));
    const { days, raw } = readers();
    const s = { ...DEFAULT_REGISTER_SETTINGS, rollupsAboveReadings: 0 };
    const moments = [JST_DAY0 + D, JST_DAY0 + 2 * D];
    const [a, b] = [await registersAt(days, ['wm-day-7'], moments, s), await registersAt(raw, ['wm-day-7'], moments, s)];
    expect(a.at.get('wm-day-7')).toEqual(b.at.get('wm-day-7'));
    expect(a.at.get('wm-day-7')!.map((r) => r.how)).toEqual(['read', 'read']);
  });

  it('answer from the raw readings when the moments are not whole hours, too far apart, or few readings are in reach', async () => {
    await store.writer.write([reading('wm-x', 0, [{ ts: JST_DAY0 + H, indexL: 100 }, { ts: JST_DAY0 + 30 * H, indexL: 200 }], now)]);
    const { days, sql } = readers();
    const noon = JST_DAY0 + 12 * H;
    const s = { ...DEFAULT_REGISTER_SETTINGS, rollupsAboveReadings: 1 };
    expect((await registersAt(days, ['wm-x'], [noon], s)).at.get('wm-x')![0]).toMatchObject({ how: 'interpolated', litres: (100 * 11) / 29 });
    expect(sql.some((q) => q.includes('segs AS'))).toBe(true);
    sql.length = 0;
    expect((await registersAt(days, ['wm-x'], [noon], { ...s, rollupsAboveReadings: 2 })).at.get('wm-x')![0]).toMatchObject({ how: 'interpolated', litres: (100 * 11) / 29 });
    expect(sql.some((q) => q.includes('segs AS'))).toBe(false);
    sql.length = 0;
    expect((await registersAt(days, ['wm-x'], [noon + H / 2], s)).at.get('wm-x')![0]).toMatchObject({ how: 'interpolated', litres: (100 * 11.5) / 29 });
    expect(sql.some((q) => q.includes('segs AS'))).toBe(false);
  });

  it('carry a register across months exactly, through a rollover, a swapped meter and reverse flow in the gaps', async () => {
    // Readings every 6 hours around four month starts (Nov, Dec, Jan, Feb) and nothing in between, as a
    // year's comparison reads them. Use between each pair of moments, worked by hand:
    // wm-roll: 99,999,000 at the Nov start, 99,999,600 six hours on; 400 at the Dec start (wrapped at
    // 100,000,000: 400 + 100,000,000 − 99,999,600 = 800 L in the gap), +600 after; Jan 3,000.
    // wm-swap: 50,000 → 50,100; swapped for a new meter reading 20 at Dec (a reset: the gap counts nothing).
    // wm-back: 7,000 → 7,000; 6,900 at Dec (100 L back, within the 1 m³ reverse-flow allowance: −100 L).
    const months = [Date.UTC(2026, 9, 31, 15), Date.UTC(2026, 10, 30, 15), Date.UTC(2026, 11, 31, 15), Date.UTC(2027, 0, 31, 15)];
    const series: Record<string, Array<[number, number]>> = {
      'wm-roll': [[months[0]!, 99_999_000], [months[0]! + 6 * H, 99_999_600], [months[1]!, 400], [months[1]! + 6 * H, 1_000], [months[2]!, 3_000]],
      'wm-swap': [[months[0]!, 50_000], [months[0]! + 6 * H, 50_100], [months[1]!, 20], [months[1]! + 6 * H, 80]],
      'wm-back': [[months[0]!, 7_000], [months[0]! + 6 * H, 7_000], [months[1]!, 6_900], [months[1]! + 6 * H, 6_950], [months[3]!, 7_950]],
    };
    now = months[3]! + D;
    await store.writer.write(Object.entries(series).flatMap(([id, rows]) => rows.map(([ts, indexL], k) => reading(id, k, [{ ts, indexL }], ts))));
    const { days, raw, sql } = readers();
    for (const db of [days, raw]) {
      const { at, breaks } = await registersAt(db, Object.keys(series), months, { ...DEFAULT_REGISTER_SETTINGS, rollupsAboveReadings: 0 });
      expect(at.get('wm-roll')!.map((r) => r.litres)).toEqual([0, 1_400, 4_000, null]);
      expect(at.get('wm-swap')!.map((r) => r.litres)).toEqual([0, 100, null, null]);
      expect(at.get('wm-back')!.map((r) => r.litres)).toEqual([0, -100, null, 950]);
      expect(at.get('wm-back')!.map((r) => r.how)).toEqual(['read', 'read', 'unknown', 'read']);
      expect(breaks).toEqual([
        { deviceId: 'wm-roll', ts: months[1], kind: 'rollover', fromIndexL: 99_999_600, toIndexL: 400 },
        { deviceId: 'wm-swap', ts: months[1], kind: 'reset', fromIndexL: 50_100, toIndexL: 20 },
      ]);
    }
    // Each month start read on the rollups of the days around it, never a scan of the months between.
    expect(sql.filter((q) => q.includes('segs AS'))).toHaveLength(months.length);
    expect(sql.filter((q) => q.includes('raw AS ('))).toHaveLength(0);
    expect(judgeStep(99_999_600, 400, 1000)).toEqual({ kind: 'rollover', litres: 800 });
  });
});
