/**
 * The keeper of the DMAs' daily figures (keeper.ts): what it does when the store cannot keep what it would
 * compute, what it reports, and how much it reads per pass. Figures checked against hand-counted litres.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { dmaBalances, type WaterMeterRef } from './balance.js';
import { WaterFigureKeeper } from './keeper.js';
import { dmaNights, type NightSettings } from './night-flow.js';
import type { FigureBook } from './kept-figures.js';
import { DEFAULT_REGISTER_SETTINGS, type WaterReader } from './registers.js';
import { D, H, hourly, JST_DAY0, registerReads } from './test-meters.js';

const S = { ...DEFAULT_REGISTER_SETTINGS, minCoveragePct: 90 };
const JST: NightSettings = { utcOffsetMin: 540, startHour: 2, endHour: 4, legitimateUsePct: 6 };
/** Two DMAs, each an inlet at 100 L/h and one customer at 10 L/h. */
const METERS: WaterMeterRef[] = ['a', 'b'].flatMap((dma) => [{ id: `in-${dma}`, dma: `dma-${dma}`, inlet: true }, { id: `c-${dma}`, dma: `dma-${dma}`, inlet: false }]);

describe('the water figure keeper', () => {
  let store: EmbeddedStore;
  const now = JST_DAY0 + 6 * D + 5 * H;
  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:', { clock: () => now });
    await store.writer.write(METERS.flatMap((m) => hourly(m.id, m.inlet ? 100 : 10, now - 40 * D, now)));
  });
  afterEach(() => store.close());

  const keeperOf = (water: WaterReader, night: () => NightSettings) => {
    const logs: Array<{ level: string; message: string }> = [];
    const keeper = new WaterFigureKeeper({ water, meters: () => METERS, settings: () => ({ balance: S, night: night() }), clock: () => now, log: (level, _d, message) => logs.push({ level, message }) });
    return { keeper, logs };
  };

  it('computes nothing on a water clock other than Japan time (the days the store keeps), says why, and the views still answer exactly', async () => {
    const { kept, fresh, computed } = registerReads(store.api.water);
    let night: NightSettings = { ...JST, utcOffsetMin: 0 };
    const { keeper, logs } = keeperOf(kept, () => night);
    await keeper.run();
    await keeper.run();
    expect(computed).toEqual([]);
    const why = 'DMA figures are not kept ahead: the water clock is UTC+00:00 (water.night.utcOffsetMin 0) and the store keeps figures of Japan days (UTC+09:00) only; each DMA view computes its figures when asked';
    expect(keeper.status()).toEqual({ passes: 0, running: false, notKeeping: why, book: { failedSaves: 0 } });
    // Said once, not every pass.
    expect(logs).toEqual([{ level: 'warn', message: why }]);

    // UTC days, computed when asked (each time: never kept), hand-counted: 2,400 L in, 240 L to the customer.
    const utcDays = [Date.UTC(2026, 10, 3), Date.UTC(2026, 10, 4), Date.UTC(2026, 10, 5)];
    const asked = (await dmaBalances(kept, METERS, utcDays, S)).get('dma-a')!;
    expect(asked.map((b) => [b.inletLitres, b.customerLitres, b.nonRevenueLitres, b.complete])).toEqual([[2400, 240, 2160, true], [2400, 240, 2160, true]]);
    expect(asked).toEqual((await dmaBalances(fresh, METERS, utcDays, S)).get('dma-a'));
    const reads = computed.length;
    expect(reads).toBeGreaterThan(0);
    await dmaBalances(kept, METERS, utcDays, S);
    expect(computed.length).toBe(2 * reads);
    const nights = (await dmaNights(kept, METERS, ['2026-11-03'], night, S)).get('dma-b')!;
    expect(nights[0]).toMatchObject({ from: Date.UTC(2026, 10, 3, 2), inletMinFlowLph: 100, customerNightFlowLph: 10, complete: true });
    expect(nights).toEqual((await dmaNights(fresh, METERS, ['2026-11-03'], night, S)).get('dma-b'));

    // Back on Japan time: kept again from the next pass.
    night = JST;
    await keeper.run();
    expect(keeper.status()).toMatchObject({ passes: 1, last: { dmas: 2 } });
    expect(keeper.status().notKeeping).toBeUndefined();
  });

  it('reads the days\' changes once per pass, not once per DMA, and recomputes nothing that still holds', async () => {
    const book = store.api.water.figures!;
    const calls = { mark: 0, changedIn: 0 };
    // The store's own book, its reads counted.
    const counted: FigureBook = {
      mark: () => (calls.mark++, book.mark()),
      changedIn: (ranges) => (calls.changedIn++, book.changedIn(ranges)),
      keeps: (from, to) => book.keeps(from, to),
      get: (kind, dmas, from, to) => book.get(kind, dmas, from, to),
      put: (kind, figures) => book.put(kind, figures),
      status: () => book.status(),
    };
    const { kept, fresh, computed } = registerReads({ ...store.api.water, figures: counted });
    const { keeper } = keeperOf(kept, () => JST);
    await keeper.run();
    // Two DMAs, balances and nights: one read of the mark and one of the days' changes (the nights' days
    // are among the balances').
    expect(calls).toEqual({ mark: 1, changedIn: 1 });
    expect(computed.length).toBeGreaterThan(0);
    computed.length = 0;
    await keeper.run();
    expect(computed).toEqual([]);
    expect(calls).toEqual({ mark: 2, changedIn: 2 });
    // What the keeper kept is what a view computes: 2,400 L in, 240 L out on 2026-11-01.
    const bounds = [JST_DAY0, JST_DAY0 + D, JST_DAY0 + 2 * D];
    const b = (await dmaBalances(kept, METERS, bounds, S)).get('dma-a')!;
    expect(computed).toEqual([]);
    expect(b.map((x) => [x.inletLitres, x.customerLitres, x.nonRevenueLitres])).toEqual([[2400, 240, 2160], [2400, 240, 2160]]);
    expect(b).toEqual((await dmaBalances(fresh, METERS, bounds, S)).get('dma-a'));
  });
});
