/**
 * The store's side of the DMAs' kept figures (water-figures.ts): a figure that cannot be saved is told
 * and counted, never a failed answer; figures are kept as long as the rollups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dmaBalances, type WaterMeterRef } from '../../../water/balance.js';
import { DEFAULT_REGISTER_SETTINGS } from '../../../water/registers.js';
import { D, H, hourly, JST_DAY0, message, registerReads } from '../../../water/test-meters.js';
import { DuckDbDatabase, openEmbeddedStore, type EmbeddedStore } from '../index.js';
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

  it('are cleared at open after a crash or another program\'s writes, and kept after a clean close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'water-figures-'));
    const logs: string[] = [];
    const open = () => openEmbeddedStore(dir, { clock: () => now, log: (_level, event, _detail, message) => logs.push(`${event}: ${message}`) });
    let own = await open();
    try {
      // c1 uses 10 L/h and runs a 500 L bath at 23:30 on day 0; its readings from 22:00 to 02:00 are not
      // stored, so its midnight register is interpolated between 21:00 and 03:00 (half the bath on day 0).
      const midnight = JST_DAY0 + D;
      const c1 = (t: number) => 1000 + (10 * (t - JST_DAY0 + 2 * D)) / H + (t >= midnight - H / 2 ? 500 : 0);
      const gap = [-2, -1, 0, 1, 2].map((h) => midnight + h * H);
      const c1Readings = Array.from({ length: (now - JST_DAY0 + 2 * D) / H }, (_, k) => JST_DAY0 - 2 * D + k * H).filter((t) => !gap.includes(t));
      await own.writer.write([...hourly('in-a', 400, JST_DAY0 - 2 * D, now), ...c1Readings.map((t, seq) => message('c1', seq, [{ ts: t, indexL: c1(t) }]))]);
      const day0 = async () => {
        const { kept, fresh, computed } = registerReads(own.api.water);
        const [b] = (await dmaBalances(kept, METERS, days(0, 1), S)).get('dma-a')!;
        expect([b]).toEqual((await dmaBalances(fresh, METERS, days(0, 1), S)).get('dma-a'));
        return { customerLitres: b!.customerLitres, computed: computed.length > 0 };
      };
      expect(await day0()).toEqual({ customerLitres: 490, computed: true });
      await own.close();

      // A clean close: kept.
      own = await open();
      expect(await day0()).toEqual({ customerLitres: 490, computed: false });
      // While open there is no stamp: a crash now leaves none.
      expect(await own.db.all(`SELECT key FROM store_meta WHERE key LIKE 'water_figures%'`)).toEqual([]);
      await own.close();

      // An older ingest stores c1's missing hours without marking them: day 0 used 240 L and the whole bath.
      const older = await DuckDbDatabase.open(dir);
      const rows = gap.map((t, seq) => `('c1', 2, ${seq}, 0, epoch_ms(${t}::BIGINT), false, ${c1(t)})`);
      await older.run(`INSERT INTO samples_water_meter (device_id, boot, seq, idx, ts, replay, "indexL") VALUES ${rows.join(', ')}`);
      await older.close();
      own = await open();
      expect(logs.filter((l) => l.startsWith('water_figures'))).toEqual([
        'water_figures_cleared: 1 kept DMA figures cleared: the water readings were changed by another program since this version closed the store (an older version of the ingest); they are computed again in the background',
      ]);
      expect(await day0()).toEqual({ customerLitres: 740, computed: true });
      await own.close();

      // A store left as a crash leaves it (no stamp: taken at open, never written back): cleared too.
      const crashed = await DuckDbDatabase.open(dir);
      await crashed.run(`DELETE FROM store_meta WHERE key LIKE 'water_figures%'`);
      await crashed.close();
      own = await open();
      expect(logs.filter((l) => l.startsWith('water_figures')).at(-1)).toBe('water_figures_cleared: 1 kept DMA figures cleared: the store was not closed cleanly by this version (a crash, a kill, or an older version); they are computed again in the background');
      expect(await day0()).toEqual({ customerLitres: 740, computed: true });
    } finally {
      await own.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
