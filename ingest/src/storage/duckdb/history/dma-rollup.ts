/**
 * The per-DMA daily rollup: what a water balance needs for each district metered area and local day, for
 * its customer meters and its inlet (bulk) meters apart: meters that reported, samples, the volume (litres
 * from the registers interpolated at the day's ends, domain notes "Volumes over a period come from register
 * values interpolated at the period's ends"), the plain in-day spread, and the night flow (02:00–04:00).
 *
 * A meter's volume on day d needs its readings on d − 1 and d + 1, so a change to a meter's day marks three
 * DMA days (rollups.ts); `refreshDmaDays` recomputes the marked ones from the meters' day rows, on the
 * store's own connection, a few seconds behind the batches (maintenance.ts) or on demand.
 *
 * The per meter details (first and last index of each day, with their times, and the DMA) are the water
 * meters' day rows themselves (rollup_open_water_meter / rollup_day_water_meter).
 */
import type { Transaction } from '../database.js';
import { col, hourCol } from './columns.js';
import { DAY_MS, localDayStartSql } from './local-time.js';
import { interpolatedUsageSql, NEIGHBOURS, neighbourColumns } from './usage.js';
import { dayOpenTable, dayTable, hourOpenTable } from './rollup-sql.js';

type Tx = Pick<Transaction, 'run' | 'all'>;

/** Local night hours whose flow is the minimum night flow (domain notes: about 02:00–04:00). */
export const NIGHT_HOURS = [2, 3] as const;

/** Per meter and day of the DMA days in `dirty` (a relation of dma, day): volume, spread, night flow. */
export function meterDaysSql(dirty: string): string {
  const [first, firstTs, last, lastTs] = [col('indexL', 'first'), col('indexL', 'first_ts'), col('indexL', 'last'), col('indexL', 'last_ts')];
  const [hSum, hN] = [hourCol('flowLph', 'sum'), hourCol('flowLph', 'n')];
  const night = (f: string) => NIGHT_HOURS.map((h) => `coalesce(${f}[${h + 1}], 0)`).join(' + ');
  const volume = interpolatedUsageSql({ start: `epoch_ms(${localDayStartSql('day')})::DOUBLE`, bucketMs: DAY_MS, first, firstTs, last, lastTs, ...NEIGHBOURS });
  // Closed rows carry the night hours in their lists; open days' hours are scalar rows. Called after a fold,
  // so nothing is pending.
  const where = (p = '') => `${p}dma IN (SELECT dma FROM (${dirty})) AND ${p}day BETWEEN (SELECT min(day) - 1 FROM (${dirty})) AND (SELECT max(day) + 1 FROM (${dirty}))`;
  const keep = `device_id, day, dma, inlet, n, ${first}, ${firstTs}, ${last}, ${lastTs}`;
  const openNight = `SELECT device_id, day, sum(${col('flowLph', 'sum')}) AS night_sum, sum(${col('flowLph', 'n')}) AS night_n FROM ${hourOpenTable('water-meter')} WHERE h IN (${NIGHT_HOURS.join(', ')}) GROUP BY ALL`;
  const rows = `SELECT ${keep}, ${night(hSum)} AS night_sum, ${night(hN)} AS night_n FROM ${dayTable('water-meter')} WHERE ${where()}
    UNION ALL SELECT ${keep.split(', ').map((c) => `d.${c}`).join(', ')}, coalesce(o.night_sum, 0), coalesce(o.night_n, 0) FROM ${dayOpenTable('water-meter')} d LEFT JOIN (${openNight}) o USING (device_id, day) WHERE ${where('d.')}`;
  return `
    WITH r AS (${rows}),
    w AS (SELECT r.*, ${neighbourColumns('day', '1', { first, firstTs, last, lastTs })} FROM r)
    SELECT dma, day, coalesce(inlet, false) AS inlet, device_id, n,
      (${volume})::DECIMAL(38,3) AS litres, (${last} - ${first})::DECIMAL(38,3) AS spread_litres,
      CASE WHEN night_n > 0 THEN (night_sum / night_n)::DECIMAL(38,6) END AS night_lph
    FROM w SEMI JOIN (${dirty}) dd USING (dma, day)`;
}

/** Consecutive dirty days computed in one statement: bounded memory after a rebuild marks every day. */
const DAYS_PER_STEP = 3;

/** Recomputes the DMA days marked dirty, a few days at a time; returns how many DMA days were refreshed. */
export async function refreshDmaDays(tx: Tx): Promise<number> {
  const days = (await tx.all(`SELECT DISTINCT (day - DATE '1970-01-01')::INTEGER AS day FROM rollup_dma_dirty ORDER BY day`)).map((r) => Number(r.day));
  let refreshed = 0;
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1]! - days[i]! < DAYS_PER_STEP) j++;
    const within = `day BETWEEN DATE '1970-01-01' + ${days[i]} AND DATE '1970-01-01' + ${days[j]}`;
    await tx.run(`CREATE OR REPLACE TEMP TABLE dma_dirty AS SELECT dma, day FROM rollup_dma_dirty WHERE ${within}`);
    await tx.run(`DELETE FROM rollup_dma_day x USING dma_dirty d WHERE x.dma = d.dma AND x.day = d.day`);
    await tx.run(
      `INSERT INTO rollup_dma_day
       SELECT dma, day, inlet, count(*)::INTEGER, sum(n)::BIGINT, sum(litres), sum(spread_litres), sum(night_lph), count(night_lph)::INTEGER
       FROM (${meterDaysSql('SELECT dma, day FROM dma_dirty')}) GROUP BY dma, day, inlet`,
    );
    refreshed += Number((await tx.all(`SELECT count(*)::INTEGER AS n FROM dma_dirty`))[0]?.n ?? 0);
    await tx.run(`DELETE FROM rollup_dma_dirty WHERE ${within}`);
    i = j + 1;
  }
  return refreshed;
}
