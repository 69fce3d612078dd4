/**
 * A DMA's kept daily figures (issue 15) are the figures computed now: served from the book while no reading
 * within reach of the day changed, computed again when one did (late data, a replay, a batched meter
 * delivering), when the DMA's meters change, or when the settings do. Checked against hand-counted litres
 * and against the same figures computed without the book, with late data interleaved with the questions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { Rng } from '../../../test/fuzz/rng.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage } from '../storage/types.js';
import { dmaBalances, type WaterMeterRef } from './balance.js';
import { dmaNights, type NightSettings } from './night-flow.js';
import { DEFAULT_REGISTER_SETTINGS, type WaterReader } from './registers.js';
import { KEEP_DAYS, KEEP_NIGHTS, WaterFigureKeeper } from './keeper.js';
import { D, H, hourly, JST_DAY0, message, registerReads } from './test-meters.js';

const S = { ...DEFAULT_REGISTER_SETTINGS, minCoveragePct: 90 };
const NIGHT: NightSettings = { utcOffsetMin: 540, startHour: 2, endHour: 4, legitimateUsePct: 6 };
const isoDate = (t: number) => new Date(t + 9 * H).toISOString().slice(0, 10);

describe('kept DMA figures', () => {
  let store: EmbeddedStore;
  let now: number;
  beforeEach(async () => {
    now = JST_DAY0 + 6 * D;
    store = await openEmbeddedStore(':memory:', { clock: () => now, attributes: () => ({ dma: 'dma-a' }) });
  });
  afterEach(() => store.close());

  const readers = () => registerReads(store.api.water);
  const days = (first: number, n: number) => Array.from({ length: n + 1 }, (_, i) => JST_DAY0 + (first + i) * D);

  it('are served while the readings in reach stay as they were, and follow late data, new meters and new settings', async () => {
    const meters: WaterMeterRef[] = [{ id: 'in-a', dma: 'dma-a', inlet: true }, { id: 'c1', dma: 'dma-a', inlet: false }, { id: 'c2', dma: 'dma-a', inlet: false }];
    const start = JST_DAY0 - 2 * D;
    const silent = (t: number) => t >= JST_DAY0 + 12 * H && t < JST_DAY0 + 3.5 * D;
    const c2 = hourly('c2', 5, start, JST_DAY0 + 6 * D);
    await store.writer.write([...hourly('in-a', 400, start, JST_DAY0 + 6 * D), ...hourly('c1', 10, start, JST_DAY0 + 6 * D), ...c2.filter((m) => !silent((m.payload as Telemetry).ts))]);
    await store.history.fold();
    const { kept, fresh, computed } = readers();

    const first = (await dmaBalances(kept, meters, days(0, 3), S)).get('dma-a')!;
    expect(computed.length).toBeGreaterThan(0);
    // Day 1 (2026-11-02): c2 silent across it, so estimated; c1 240 L and the inlet 9,600 L read exactly.
    expect(first[1]).toMatchObject({ covered: 1, estimated: 1, inletLitres: 9600, complete: false });
    expect(first).toEqual((await dmaBalances(fresh, meters, days(0, 3), S)).get('dma-a'));

    // Asked again: every day from the book, no register read.
    computed.length = 0;
    expect((await dmaBalances(kept, meters, days(0, 3), S)).get('dma-a')).toEqual(first);
    expect(computed).toEqual([]);

    // c2 delivers its silent hours late: the days within reach of them are computed again, exactly.
    await store.writer.write(c2.filter((m) => silent((m.payload as Telemetry).ts)));
    const after = (await dmaBalances(kept, meters, days(0, 3), S)).get('dma-a')!;
    expect(computed.length).toBeGreaterThan(0);
    expect(after[1]).toMatchObject({ covered: 2, estimated: 0, customerLitres: 240 + 120, inletLitres: 9600, nonRevenueLitres: 9600 - 360, complete: true });
    expect(after).toEqual((await dmaBalances(fresh, meters, days(0, 3), S)).get('dma-a'));

    // A reading of day 5 is out of reach of day 0 (more than 48 h after its end): day 0 stays kept.
    await store.writer.write([message('c1', 999, [{ ts: JST_DAY0 + 5 * D + 30 * 60_000, indexL: 1000 + 10 * (7 * 24 + 0.5) }])]);
    computed.length = 0;
    await dmaBalances(kept, meters, days(0, 1), S);
    expect(computed).toEqual([]);

    // Readings in order (each after its meter's latest) leave settled days kept, however near: day 4 read
    // between readings at both ends stays; day 5, whose end no meter has read past yet, is computed again.
    const marks = async () => new Map((await store.db.all(`SELECT from_ms, mark FROM water_figures WHERE kind = 'balance'`)).map((r) => [Number(r.from_ms), Number(r.mark)]));
    await dmaBalances(kept, meters, days(4, 2), S);
    const before = await marks();
    await store.writer.write(meters.map((m, k) => message(m.id, 5000 + k, [{ ts: JST_DAY0 + 6 * D + 10 * 60_000, indexL: Math.floor(1000 + [400, 10, 5][k]! * (8 * 24 + 1 / 6)) }])));
    const inOrder = (await dmaBalances(kept, meters, days(4, 2), S)).get('dma-a')!;
    expect(inOrder).toEqual((await dmaBalances(fresh, meters, days(4, 2), S)).get('dma-a'));
    const afterInOrder = await marks();
    expect(afterInOrder.get(JST_DAY0 + 4 * D)).toBe(before.get(JST_DAY0 + 4 * D));
    expect(afterInOrder.get(JST_DAY0 + 5 * D)).toBeGreaterThan(before.get(JST_DAY0 + 5 * D)!);
    // Out of order (a reading between two already stored): day 4 is computed again.
    await store.writer.write([message('c1', 6000, [{ ts: JST_DAY0 + 4 * D + 12 * H + 60_000, indexL: 1000 + 10 * (6 * 24 + 12) + 7 }])]);
    expect((await dmaBalances(kept, meters, days(4, 2), S)).get('dma-a')).toEqual((await dmaBalances(fresh, meters, days(4, 2), S)).get('dma-a'));
    expect((await marks()).get(JST_DAY0 + 4 * D)).toBeGreaterThan(before.get(JST_DAY0 + 4 * D)!);

    // A meter joins the DMA: its figures are the new membership's.
    const more = [...meters, { id: 'c3', dma: 'dma-a', inlet: false }];
    const joined = (await dmaBalances(kept, more, days(0, 3), S)).get('dma-a')!;
    expect(joined[1]).toMatchObject({ connections: 3, missing: 1 });
    expect(joined).toEqual((await dmaBalances(fresh, more, days(0, 3), S)).get('dma-a'));
    // Other settings: other figures (coverage of 2 out of 3 complete at 60 %).
    expect((await dmaBalances(kept, more, days(0, 3), { ...S, minCoveragePct: 60 })).get('dma-a')![1]).toMatchObject({ complete: true });
    expect((await dmaBalances(kept, more, days(0, 3), S)).get('dma-a')![1]).toMatchObject({ complete: false });

    // An interval that is not a whole local day is computed, never kept.
    computed.length = 0;
    await dmaBalances(kept, meters, [JST_DAY0 + H, JST_DAY0 + 5 * H], S);
    await dmaBalances(kept, meters, [JST_DAY0 + H, JST_DAY0 + 5 * H], S);
    expect(computed.length).toBe(2);
  });

  it('through the rollups (a store past ROLLUPS_ABOVE_READINGS) are the hand-counted litres of a leak, and follow late data', async () => {
    // The rollups answer whatever the store holds; `fresh` below reads the raw readings (the default).
    const R = { ...S, rollupsAboveReadings: 0 };
    const meters: WaterMeterRef[] = [{ id: 'in-a', dma: 'dma-a', inlet: true }, { id: 'c1', dma: 'dma-a', inlet: false }, { id: 'c2', dma: 'dma-a', inlet: false }];
    // c1 uses 12 L/h, c2 8 L/h and fills 100 L at noon on day 1; the mains leak 40 L/h: the inlet reads
    // 60 L/h and the fill. Readings off the hour (the inlet at :07 every 15 min, c1 at :20 hourly, c2 at
    // :30 every 4 h), so every midnight register is interpolated.
    const [start, end, fill] = [JST_DAY0 - 2 * D, JST_DAY0 + 5 * D, JST_DAY0 + D + 12 * H];
    const series = (id: string, everyMin: number, atMin: number, lph: number, skip: (t: number) => boolean = () => false) => {
      const out: StorableMessage[] = [];
      for (let t = start + atMin * 60_000, k = 0; t < end; t += everyMin * 60_000, k++) {
        if (!skip(t)) out.push(message(id, k, [{ ts: t, indexL: 1000 + (lph * (t - start)) / H + (t >= fill && id !== 'c1' ? 100 : 0) }]));
      }
      return out;
    };
    // c2's readings from 20:30 on day 0 to 00:30 on day 2 come late (a batch): it is read at 16:30 and
    // 04:30 around them, 36 h apart, and its 388 L in between are shared by time until they arrive.
    const late = (t: number) => t > JST_DAY0 + D - 4 * H && t < JST_DAY0 + 2 * D + 4 * H;
    await store.writer.write([...series('in-a', 15, 7, 60), ...series('c1', 60, 20, 12), ...series('c2', 240, 30, 8, late)]);
    await store.history.fold();
    await store.history.closeDays();
    const { kept, fresh, computed } = readers();
    const litres = async () => (await dmaBalances(kept, meters, days(0, 3), R)).get('dma-a')!.map((b) => [b.inletLitres, b.customerLitres, b.nonRevenueLitres, b.complete]);
    // Day 0: c2 exact to 16:30 (132 L), then 7.5 of the 36 h (80.8 L); day 1: 24 of them (258.7 L);
    // day 2: 4.5 of them (48.5 L), then exact (156 L).
    expect(await litres()).toEqual([[1440, 500.8, 939.2, true], [1540, 546.7, 993.3, true], [1440, 492.5, 947.5, true]]);
    expect(computed.length).toBeGreaterThan(0);
    // Read from the rollups, not the readings.
    expect(computed.every((q) => q.includes('rollup_day_') && !q.includes('EXISTS (SELECT 1 FROM b'))).toBe(true);
    expect((await dmaBalances(kept, meters, days(0, 3), R)).get('dma-a')).toEqual((await dmaBalances(fresh, meters, days(0, 3), S)).get('dma-a'));
    computed.length = 0;
    await litres();
    expect(computed).toEqual([]);

    // The batch arrives (after the days closed): every day's customers are exact, and the non-revenue
    // water is the leak, 960 L a day.
    await store.writer.write(series('c2', 240, 30, 8, (t) => !late(t)));
    expect(await litres()).toEqual([[1440, 480, 960, true], [1540, 580, 960, true], [1440, 480, 960, true]]);
    expect(computed.length).toBeGreaterThan(0);
    await store.history.fold();
    expect((await dmaBalances(kept, meters, days(0, 3), R)).get('dma-a')).toEqual((await dmaBalances(fresh, meters, days(0, 3), S)).get('dma-a'));
  });

  it('equal the figures computed now, whatever arrives late between the questions', async () => {
    const random = (() => {
      const r = new Rng(20261207);
      return () => r.next();
    })();
    const meters: WaterMeterRef[] = ['a', 'b'].flatMap((dma) => [
      { id: `in-${dma}`, dma: `dma-${dma}`, inlet: true },
      ...Array.from({ length: 4 }, (_, k) => ({ id: `m-${dma}${k}`, dma: `dma-${dma}`, inlet: false })),
    ]);
    const all: StorableMessage[] = [];
    for (const m of meters) {
      let index = Math.floor(random() * 10_000);
      const step = m.inlet ? H : [H, 4 * H, 15 * 60_000, 24 * H][Math.floor(random() * 4)]!;
      let seq = 0;
      for (let t = JST_DAY0 - 2 * D + Math.floor(random() * step); t < JST_DAY0 + 16 * D; t += step) {
        if (random() < 0.1) continue;
        index += random() < 0.01 ? -Math.floor(random() * 20) : Math.floor(random() * (m.inlet ? 900 : 30));
        all.push(message(m.id, seq++, [{ ts: t, indexL: index }]));
      }
    }
    // The city's day as it comes: readings in time order a few hours at a time, a fifth of them late (at a
    // random later point), the questions in between (figures kept while in-order data arrives, and late
    // data lands in settled days).
    all.sort((a, b) => (a.payload as Telemetry).ts - (b.payload as Telemetry).ts);
    const late = all.filter(() => random() < 0.2);
    const onTime = all.filter((m) => !late.includes(m));
    const { kept, fresh } = readers();
    const check = async () => {
      const first = Math.floor(random() * 14);
      const n = 1 + Math.floor(random() * 4);
      const bounds = days(first, n);
      expect(await dmaBalances(kept, meters, bounds, S)).toEqual(await dmaBalances(fresh, meters, bounds, S));
      const dates = bounds.slice(0, -1).map(isoDate);
      expect(await dmaNights(kept, meters, dates, NIGHT, S)).toEqual(await dmaNights(fresh, meters, dates, NIGHT, S));
    };
    for (let t = JST_DAY0 - 2 * D; t < JST_DAY0 + 16 * D; t += 12 * H) {
      await store.writer.write(onTime.filter((m) => (m.payload as Telemetry).ts >= t && (m.payload as Telemetry).ts < t + 12 * H));
      if (random() < 0.3 && late.length > 0) await store.writer.write(late.splice(0, 1 + Math.floor(random() * 60)));
      if (random() < 0.2) await store.history.fold();
      await check();
    }
    await store.writer.write(late);
    // Everything asked once more: the book now holds every day, and still agrees.
    const bounds = days(0, 14);
    expect(await dmaBalances(kept, meters, bounds, S)).toEqual(await dmaBalances(fresh, meters, bounds, S));
  }, 120_000);

  it('are kept for every DMA of the last month by the keeper, so a DMA view reads no register', async () => {
    const meters: WaterMeterRef[] = ['a', 'b'].flatMap((dma) => [{ id: `in-${dma}`, dma: `dma-${dma}`, inlet: true }, { id: `c-${dma}`, dma: `dma-${dma}`, inlet: false }]);
    now = JST_DAY0 + 6 * D + 5 * H;
    await store.writer.write(meters.flatMap((m) => hourly(m.id, m.inlet ? 100 : 10, now - 40 * D, now)));
    const logs: string[] = [];
    const keeper = new WaterFigureKeeper({ water: store.api.water, meters: () => meters, settings: () => ({ balance: S, night: NIGHT }), clock: () => now, log: (_l, _d, m) => logs.push(m) });
    await keeper.run();
    expect(keeper.status()).toMatchObject({ passes: 1, running: false, last: { dmas: 2, days: KEEP_DAYS } });
    expect(logs.at(-1)).toMatch(/^water figures of 2 DMAs kept: balances of 31 days, nights of 7/);
    const { kept, computed } = readers();
    // The days before today (today's end is not read yet: it is computed when asked).
    const bounds = Array.from({ length: KEEP_DAYS + 1 }, (_, i) => JST_DAY0 + 6 * D - (KEEP_DAYS - i) * D);
    const b = (await dmaBalances(kept, meters, bounds, S)).get('dma-b')!;
    const n = (await dmaNights(kept, meters, bounds.slice(0, -1).slice(-KEEP_NIGHTS).map(isoDate), NIGHT, S)).get('dma-b')!;
    expect(computed).toEqual([]);
    // 2026-11-01: 2,400 L into the DMA, 240 L to its one customer.
    expect(b[KEEP_DAYS - 6]).toMatchObject({ from: JST_DAY0, inletLitres: 2400, customerLitres: 240, nonRevenueLitres: 2160, complete: true });
    expect(n[0]).toMatchObject({ date: '2026-10-31', inletMinFlowLph: 100, customerNightFlowLph: 10 });
  });

  it('after a restart, a backlog older than what is stored counts as out of order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kept-figures-'));
    const open = () => openEmbeddedStore(dir, { clock: () => now, attributes: () => ({ dma: 'dma-a' }) });
    let own = await open();
    try {
      const meters: WaterMeterRef[] = [{ id: 'in-a', dma: 'dma-a', inlet: true }, { id: 'c1', dma: 'dma-a', inlet: false }];
      const start = JST_DAY0 - 2 * D;
      // c1 silent from 22:00 before day 1 to 10:00 on it: its midnight register is read between them.
      const gap = (t: number) => t >= JST_DAY0 + D - 2 * H && t < JST_DAY0 + D + 10 * H;
      // A 500 L bath in the last hour before day 1, read at its midnight.
      const c1: StorableMessage[] = [];
      for (let t = start, k = 0; t < JST_DAY0 + 6 * D; t += H, k++) c1.push(message('c1', k, [{ ts: t, indexL: 1000 + 10 * ((t - start) / H) + (t >= JST_DAY0 + D ? 500 : 0) }]));
      await own.writer.write([...hourly('in-a', 400, start, JST_DAY0 + 6 * D), ...c1.filter((m) => !gap((m.payload as Telemetry).ts))]);
      const reader = (): { kept: WaterReader; fresh: WaterReader } => {
        const { figures: _, ...fresh } = own.api.water;
        return { kept: own.api.water, fresh: fresh as WaterReader };
      };
      await dmaBalances(reader().kept, meters, days(0, 3), S);
      await own.close();
      own = await open();
      // The backlog arrives oldest first: its first hour, then the rest, each after the one before but
      // older than what is stored.
      const backlog = c1.filter((m) => gap((m.payload as Telemetry).ts));
      await own.writer.write(backlog.slice(0, 1));
      await dmaBalances(reader().kept, meters, days(0, 3), S);
      await own.writer.write(backlog.slice(1));
      const { kept, fresh } = reader();
      const after = (await dmaBalances(kept, meters, days(0, 3), S)).get('dma-a')!;
      expect(after).toEqual((await dmaBalances(fresh, meters, days(0, 3), S)).get('dma-a'));
      // Day 0 now read at its end: 240 L and the bath.
      expect(after[0]).toMatchObject({ customerLitres: 740, covered: 1 });
      // An empty interval (from = to) is answered, not kept.
      expect((await dmaBalances(kept, meters, [JST_DAY0, JST_DAY0], S)).get('dma-a')![0]).toMatchObject({ customerLitres: 0, inletLitres: 0 });
    } finally {
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
