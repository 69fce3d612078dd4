/**
 * Whether the DMAs' kept figures (water-figures.ts) can be trusted after the store was closed: they hold
 * only while every change of the water meters' readings was marked, and a version of the ingest from
 * before the kept figures (or `npm run store` of one) writes and archives readings without marking
 * anything. So a clean close leaves a stamp in `store_meta`: a fingerprint of the water meters' readings
 * (rows in the tables, and the water parts of the segments and the archive), which any such write or
 * archive run changes. The next open takes the stamp away (a crash then leaves none) and, unless it finds
 * it with the same fingerprint, clears the kept figures: they are computed again (the keeper, within its
 * next pass).
 */
import type { DuckDbDatabase } from '../database.js';
import { SAMPLE_TABLES } from '../sample-columns.js';

const STAMP_KEY = 'water_figures_clean_close';

/**
 * The water meters' readings, in numbers that any write, archive or deletion of them changes: rows in the
 * tables only grow by writes and shrink by retention runs, which change the segments' or archive's parts
 * (a segment's file named `hot/…`: a store without segments keeps the fingerprint it had). A count reads no
 * column (8 ms for 20 M rows on one thread; a 90-day city of 1.1 G rows about half a second); their
 * latest time would read every `ts` (75 ms for 20 M) and tell nothing more.
 */
async function fingerprint(db: Pick<DuckDbDatabase, 'all'>): Promise<string> {
  const [row] = await db.all(`SELECT
      (SELECT count(*)::BIGINT FROM ${SAMPLE_TABLES['water-meter']}) AS hot,
      (SELECT count(*)::BIGINT || ':' || coalesce(md5(string_agg(file || '=' || rows, ',' ORDER BY file)), '') FROM (
        SELECT file, rows FROM archive_parts WHERE kind = 'samples/water-meter'
        UNION ALL SELECT 'hot/' || file, rows FROM segment_parts WHERE kind = 'samples/water-meter')) AS archived`);
  return `hot ${String(row?.hot)}; archived ${String(row?.archived)}`;
}

/**
 * At open: takes the stamp away and clears the kept figures unless it was there and still matches.
 * Returns how many figures were cleared and why (undefined when they were kept).
 */
export async function checkCleanClose(db: Pick<DuckDbDatabase, 'all' | 'run'>): Promise<{ cleared: number; why: string } | undefined> {
  const [stamp] = await db.all(`SELECT value FROM store_meta WHERE key = '${STAMP_KEY}'`);
  await db.run(`DELETE FROM store_meta WHERE key = '${STAMP_KEY}'`);
  const now = await fingerprint(db);
  if (stamp !== undefined && String(stamp.value) === now) return undefined;
  const [count] = await db.all(`SELECT count(*)::BIGINT AS n FROM water_figures`);
  await db.run(`DELETE FROM water_figures`);
  const why = stamp === undefined ? 'the store was not closed cleanly by this version (a crash, a kill, or an older version)' : 'the water readings were changed by another program since this version closed the store (an older version of the ingest)';
  return { cleared: Number(count?.n ?? 0), why };
}

/** At a clean close, once nothing writes any more: the stamp the next open looks for. */
export async function stampCleanClose(db: Pick<DuckDbDatabase, 'all' | 'run'>): Promise<void> {
  await db.run(`INSERT INTO store_meta VALUES ('${STAMP_KEY}', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [await fingerprint(db)]);
}
