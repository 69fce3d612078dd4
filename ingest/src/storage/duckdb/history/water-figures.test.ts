/**
 * The store's side of the DMAs' kept figures (water-figures.ts): a figure that cannot be saved is told
 * and counted, never a failed answer; figures are kept as long as the rollups.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dmaBalances, type WaterMeterRef } from '../../../water/balance.js';
import { DEFAULT_REGISTER_SETTINGS } from '../../../water/registers.js';
import { D, hourly, JST_DAY0, registerReads } from '../../../water/test-meters.js';
import { openEmbeddedStore, type EmbeddedStore } from '../index.js';
import { DuckDbFigureBook } from './water-figures.js';

const S = { ...DEFAULT_REGISTER_SETTINGS, minCoveragePct: 90 };
const METERS: WaterMeterRef[] = [{ id: 'in-a', dma: 'dma-a', inlet: true }, { id: 'c1', dma: 'dma-a', inlet: false }];
const days = (first: number, n: number) => Array.from({ length: n + 1 }, (_, i) => JST_DAY0 + (first + i) * D);

describe('the store of kept water figures', () => {
  let store: EmbeddedStore;
  const now = JST_DAY0 + 6 * D;
  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:', { clock: () => now, history: { rawRetentionDays: 90, archiveRetentionDays: null, rollupRetentionDays: 3 } });
    await store.writer.write([...hourly('in-a', 400, JST_DAY0 - 2 * D, now), ...hourly('c1', 10, JST_DAY0 - 2 * D, now)]);
  });
  afterEach(() => store.close());

  it('answers a figure it could not save, logs it in operators\' words and counts it', async () => {
    // The book's own connection is gone (as when the store closes under a view): saves fail, reads work.
    const gone = await store.db.fork();
    await gone.close();
    const logs: Array<{ level: string; event: string; message: string }> = [];
    const book = new DuckDbFigureBook(store.api.pool, gone, (level, event, _detail, message) => logs.push({ level, event, message }), () => now);
    const { kept, fresh, computed } = registerReads({ ...store.api.water, figures: book });
    const answer = (await dmaBalances(kept, METERS, days(0, 2), S)).get('dma-a')!;
    // 9,600 L in, 240 L to the customer each day.
    expect(answer.map((b) => [b.inletLitres, b.customerLitres, b.nonRevenueLitres])).toEqual([[9600, 240, 9360], [9600, 240, 9360]]);
    expect(answer).toEqual((await dmaBalances(fresh, METERS, days(0, 2), S)).get('dma-a'));
    expect(book.status()).toEqual({ failedSaves: 1, lastFailedSave: { at: now, kind: 'balance', figures: 2, reason: 'the embedded store is closed' } });
    expect(logs).toEqual([{ level: 'warn', event: 'water_figures_not_saved', message: '2 daily water balance figures of DMA dma-a could not be saved (the embedded store is closed); they were answered, and are computed again when next asked' }]);
    // Not kept: computed again.
    const reads = computed.length;
    await dmaBalances(kept, METERS, days(0, 2), S);
    expect(computed.length).toBe(2 * reads);
    expect(book.status().failedSaves).toBe(2);
  });

  it('deletes the figures of days past ROLLUP_RETENTION_DAYS with the rollups', async () => {
    const { kept, fresh } = registerReads(store.api.water);
    const six = await dmaBalances(kept, METERS, days(0, 6), S);
    const keptDays = async () => (await store.db.all(`SELECT from_ms FROM water_figures WHERE kind = 'balance' ORDER BY from_ms`)).map((r) => (Number(r.from_ms) - JST_DAY0) / D);
    expect(await keptDays()).toEqual([0, 1, 2, 3, 4, 5]);
    await store.history.applyRetention(now);
    // Today is day 6: days 3, 4, 5 are within the 3 days kept.
    expect(await keptDays()).toEqual([3, 4, 5]);
    // Older days are answered from the readings as before.
    expect(await dmaBalances(kept, METERS, days(0, 6), S)).toEqual(six);
    expect(six).toEqual(await dmaBalances(fresh, METERS, days(0, 6), S));
  });
});
