/**
 * Rollups per device per hour and per day, kept in step with the stored batches.
 *
 * A batch only appends its samples to a pending table, in its own transaction (one more append: the
 * write path stays as fast as it was). `fold` merges the pending rows into the rollups in bulk, every few
 * seconds (maintenance.ts) and when they pile up; readers merge what is still pending on the fly
 * (`dayRows`, `hourRows`), so a stored batch is in every answer at once, exactly.
 *
 * Days still open (today, and yesterday until CLOSE_GRACE_MS after midnight) are scalar hour rows and
 * scalar day rows. `closeDays` turns a finished day into one row per device with the 24 hours as lists, in
 * a table found through its device index: a device's year is 365 rows. Late or replayed data landing in a
 * closed day revises that row (`mergeClosed`). `rebuildDay` recomputes a day from the raw rows.
 */
import type { Transaction } from '../database.js';
import { tableSuffix, type RolledUpType } from './columns.js';
import { localDaySql } from './local-time.js';
import { closedRows, compactFromPlain, dayColumns, unnestHours } from './closed-hours.js';
import { carriesDma, type Only, dayOpenColumns, dayOpenTable, dayStatsFrom, dayTable, hourColumns, hourOpenTable, hourRowsFromRaw, mergeHourRows, mergeSet, names, pendingTable, plainDayTable } from './rollup-sql.js';

type Tx = Pick<Transaction, 'run' | 'all'>;

/** Yesterday stays open this long after midnight, for data a little late (batching meters, short outages). */
export const CLOSE_GRACE_MS = 2 * 3_600_000;

/** Every table of `type`'s rollups (closed days of both layouts, open days' days and hours). */
export const rollupTables = (type: RolledUpType): string[] => [dayOpenTable(type), hourOpenTable(type), dayTable(type), plainDayTable(type)];

/** A DATE literal for a day number. */
export const dateSql = (day: number): string => `(DATE '1970-01-01' + ${Math.trunc(day)})`;

/** `relation` restricted to `where` (SQL over its columns). */
const filtered = (relation: string, where: string) => `SELECT * FROM (${relation}) WHERE ${where}`;

/** The DMA of each device of the day rows, from `attrs` (device_id, dma, inlet). */
function withDma(type: RolledUpType, dayStats: string, attrs: string | undefined): string {
  if (!carriesDma(type)) return dayStats;
  if (!attrs) return `SELECT d.device_id, d.day, NULL::VARCHAR AS dma, false AS inlet, d.* EXCLUDE (device_id, day) FROM (${dayStats}) d`;
  return `SELECT d.device_id, d.day, a.dma, coalesce(a.inlet, false) AS inlet, d.* EXCLUDE (device_id, day) FROM (${dayStats}) d LEFT JOIN (${attrs}) a ON a.device_id = d.device_id`;
}

/**
 * Folds the pending rows of `type` into the rollups and empties the pending table. `attrs`: the DMA of
 * the water meters among them. Returns the pending rows folded.
 */
export async function fold(tx: Tx, type: RolledUpType, attrs: string | undefined, openFrom: number): Promise<number> {
  const s = tableSuffix(type);
  const [{ n } = { n: 0 }] = await tx.all(`SELECT count(*)::BIGINT AS n FROM ${pendingTable(type)}`);
  if (Number(n) === 0) return 0;
  const [hours, days] = [`fold_hours_${s}`, `fold_days_${s}`];
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${hours} AS ${hourRowsFromRaw(type, `SELECT * FROM ${pendingTable(type)}`)}`);
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${days} AS ${withDma(type, dayStatsFrom(type, [`SELECT * FROM ${hours}`]), attrs)}`);
  const open = `day >= ${dateSql(openFrom)}`;
  // Open days: scalar rows updated in place. Hours have no index (millions of rows): the join is limited to
  // the days folded, which sit at the end of the table, appended in time order.
  const hourNames = names(hourColumns(type));
  await tx.run(
    `MERGE INTO ${hourOpenTable(type)} t USING (SELECT * FROM ${hours} WHERE ${open}) f
     ON t.device_id = f.device_id AND t.day = f.day AND t.h = f.h
     WHEN MATCHED THEN UPDATE SET ${mergeSet(type, 't', 'f', false)}
     WHEN NOT MATCHED THEN INSERT (${hourNames}) VALUES (${hourNames.split(', ').map((c) => `f.${c}`).join(', ')})`,
  );
  await tx.run(
    `INSERT INTO ${dayOpenTable(type)} (${names(dayOpenColumns(type))}) SELECT ${names(dayOpenColumns(type))} FROM ${days} WHERE ${open}
     ON CONFLICT (device_id, day) DO UPDATE SET ${mergeSet(type, dayOpenTable(type))}`,
  );
  const [late] = await tx.all(`SELECT count(*)::INTEGER AS n FROM ${days} WHERE NOT (${open})`);
  if (Number(late?.n ?? 0) > 0) await mergeClosed(tx, type, filtered(`SELECT * FROM ${days}`, `NOT (${open})`), filtered(`SELECT * FROM ${hours}`, `NOT (${open})`));
  await tx.run(`DELETE FROM ${pendingTable(type)}`);
  await tx.run(`DROP TABLE ${hours}`);
  await tx.run(`DROP TABLE ${days}`);
  return Number(n);
}

/**
 * Revises closed days with new partial rows (`days`: day statistics with dma/inlet, `hours`: hour rows):
 * the stored row's hours are unnested, merged with the new ones and pivoted back; the row is replaced.
 */
async function mergeClosed(tx: Tx, type: RolledUpType, days: string, hours: string): Promise<void> {
  const s = tableSuffix(type);
  const [newDays, old, table] = [`late_days_${s}`, `late_old_${s}`, dayTable(type)];
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${newDays} AS ${days}`);
  const [range] = await tx.all(`SELECT min(day)::VARCHAR AS lo, max(day)::VARCHAR AS hi FROM ${newDays}`);
  // The day range lets the scan skip every other day's row groups (the table is appended day by day).
  const within = `r.day BETWEEN DATE '${String(range!.lo)}' AND DATE '${String(range!.hi)}'`;
  const stored = (t: string) => `SELECT r.* FROM ${t} r SEMI JOIN ${newDays} l ON r.device_id = l.device_id AND r.day = l.day WHERE ${within}`;
  // A day not converted yet to the compact layout (migrate.ts) is converted with the revision.
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${old} AS ${stored(table)} UNION ALL BY NAME ${compactFromPlain(type, stored(plainDayTable(type)))}`);
  for (const t of [table, plainDayTable(type)]) await tx.run(`DELETE FROM ${t} r USING ${newDays} l WHERE r.device_id = l.device_id AND r.day = l.day AND ${within}`);
  const openCols = names(dayOpenColumns(type));
  const stats = dayStatsFrom(type, [`SELECT * FROM ${old}`, `SELECT * FROM ${newDays}`]);
  const dma = carriesDma(type)
    ? `SELECT device_id, day, arg_max(dma, k) AS dma, arg_max(inlet, k) AS inlet FROM (SELECT device_id, day, dma, inlet, 0 AS k FROM ${old} UNION ALL SELECT device_id, day, dma, inlet, 1 FROM ${newDays}) GROUP BY device_id, day`
    : undefined;
  const merged = dma ? `SELECT s.device_id, s.day, a.dma, a.inlet, s.* EXCLUDE (device_id, day) FROM (${stats}) s JOIN (${dma}) a USING (device_id, day)` : stats;
  const mergedHours = mergeHourRows(type, [unnestHours(type, `SELECT * FROM ${old}`), hours]);
  await tx.run(`INSERT INTO ${table} (${names(dayColumns(type))}) ${closedRows(type, `SELECT ${openCols} FROM (${merged})`, mergedHours)} ORDER BY day, device_id`);
  await tx.run(`DROP TABLE ${newDays}`);
  await tx.run(`DROP TABLE ${old}`);
}

/**
 * Bulk steps (closing a day, rebuilding one) work on a share of the devices at a time, so their memory is
 * bounded whatever the fleet: a day of 130,000 meters at once took more than 4 GB (hash tables of every
 * device-hour, lists per device), in shares of ~12,000–16,000 devices it stays under the default DUCKDB_MEMORY_LIMIT (1 GB).
 */
export const BULK_SHARES = { hourRows: 400_000, rawRows: 1_200_000 };
const shares = (rows: number, per: number) => Math.max(1, Math.ceil(rows / per));
const share = (k: number, j: number) => (k === 1 ? 'true' : `hash(device_id) % ${k} = ${j}`);
const countOf = async (tx: Tx, relation: string) => Number((await tx.all(`SELECT count(*)::BIGINT AS n FROM (${relation})`))[0]?.n ?? 0);

/** Moves the days before `openFrom` from the open tables into the closed one, `hourRowsPerShare` hour rows a statement. */
export async function closeDays(tx: Tx, type: RolledUpType, openFrom: number, hourRowsPerShare = BULK_SHARES.hourRows): Promise<void> {
  const before = `day < ${dateSql(openFrom)}`;
  const k = shares(await countOf(tx, `SELECT 1 FROM ${hourOpenTable(type)} WHERE ${before}`), hourRowsPerShare);
  for (let j = 0; j < k; j++) {
    const where = `${before} AND ${share(k, j)}`;
    await tx.run(
      `INSERT INTO ${dayTable(type)} (${names(dayColumns(type))})
       ${closedRows(type, `SELECT * FROM ${dayOpenTable(type)} WHERE ${where}`, `SELECT * FROM ${hourOpenTable(type)} WHERE ${where}`)} ORDER BY day, device_id`,
    );
  }
  await tx.run(`DELETE FROM ${dayOpenTable(type)} WHERE ${before}`);
  await tx.run(`DELETE FROM ${hourOpenTable(type)} WHERE ${before}`);
}

/** How many shares of devices a rebuild of `source` (raw rows) takes. */
export async function rebuildShares(tx: Tx, source: string): Promise<number> {
  return shares(await countOf(tx, source), BULK_SHARES.rawRows);
}

/**
 * Recomputes local days [fromDay, toDay] of `type` from `source` (raw rows of that range, hot and
 * archived) for share `j` of `k` of the devices: what is stored for them is replaced. One share per
 * transaction (rebuildShares): a rebuild stopped half way leaves every device's day either as it was or
 * rebuilt, both from the same readings. `attrs`: the water meters' DMA.
 */
export async function rebuildDays(tx: Tx, type: RolledUpType, source: string, attrs: string | undefined, fromDay: number, toDay: number, openFrom: number, k = 1, j = 0): Promise<void> {
  const inShare = `day BETWEEN ${dateSql(fromDay)} AND ${dateSql(toDay)} AND ${share(k, j)}`;
  for (const t of rollupTables(type)) await tx.run(`DELETE FROM ${t} WHERE ${inShare}`);
  // Pending rows of these days are raw rows too: the rebuild counts them, a later fold must not again.
  await tx.run(`DELETE FROM ${pendingTable(type)} WHERE ${pendingWhere(inShare)}`);
  const s = tableSuffix(type);
  const [hours, days] = [`rebuild_hours_${s}`, `rebuild_days_${s}`];
  const open = `day >= ${dateSql(openFrom)}`;
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${hours} AS ${hourRowsFromRaw(type, `SELECT * FROM (${source}) WHERE ${share(k, j)}`)}`);
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${days} AS ${withDma(type, dayStatsFrom(type, [`SELECT * FROM ${hours}`]), attrs)}`);
  await tx.run(`INSERT INTO ${hourOpenTable(type)} (${names(hourColumns(type))}) SELECT ${names(hourColumns(type))} FROM ${hours} WHERE ${open} ORDER BY day, h, device_id`);
  await tx.run(`INSERT INTO ${dayOpenTable(type)} (${names(dayOpenColumns(type))}) SELECT ${names(dayOpenColumns(type))} FROM ${days} WHERE ${open}`);
  await tx.run(
    `INSERT INTO ${dayTable(type)} (${names(dayColumns(type))})
     ${closedRows(type, `SELECT * FROM ${days} WHERE NOT (${open})`, `SELECT * FROM ${hours} WHERE NOT (${open})`)} ORDER BY day, device_id`,
  );
  await tx.run(`DROP TABLE ${hours}`);
  await tx.run(`DROP TABLE ${days}`);
}

/**
 * A device's (or any set's) day rows as readers see them: closed, open and still pending, merged.
 * `where`: SQL over device_id and day. Columns: device_id, day, [dma, inlet,] n, statistics; with `only`,
 * device_id, day, n and those readings' statistics. `plain`: whether closed days of the layout before
 * may be left (migrate.ts); false once converted, which spares every plan its branch.
 */
export function dayRows(type: RolledUpType, where: string, only?: Only, plain = true): string {
  const closed = plain ? [dayTable(type), plainDayTable(type)] : [dayTable(type)];
  const stats = dayStatsFrom(type, [
    ...closed.map((t) => `SELECT * FROM ${t} WHERE ${where}`),
    `SELECT * FROM ${dayOpenTable(type)} WHERE ${where}`,
    filtered(hourRowsFromRaw(type, `SELECT * FROM ${pendingTable(type)} WHERE ${pendingWhere(where)}`, only), where),
  ], only);
  if (!carriesDma(type) || only) return stats;
  // The DMA of the newest stored row; a meter whose data is all still pending has none yet.
  const dma = [...closed, dayOpenTable(type)].map((t) => `SELECT device_id, day, dma, inlet FROM ${t} WHERE ${where}`).join(' UNION ALL ');
  return `SELECT s.device_id, s.day, a.dma, a.inlet, s.* EXCLUDE (device_id, day) FROM (${stats}) s LEFT JOIN (SELECT device_id, day, any_value(dma) AS dma, any_value(inlet) AS inlet FROM (${dma}) GROUP BY ALL) a USING (device_id, day)`;
}

/** A device's (or any set's) hour rows: closed days unnested, open hours and pending, merged (`only`, `plain`: as dayRows). */
export function hourRows(type: RolledUpType, where: string, only?: Only, plain = true): string {
  return mergeHourRows(type, [
    unnestHours(type, `SELECT * FROM ${dayTable(type)} WHERE ${where}`, only),
    ...(plain ? [unnestHours(type, `SELECT * FROM ${plainDayTable(type)} WHERE ${where}`, only, 'plain')] : []),
    `SELECT * FROM ${hourOpenTable(type)} WHERE ${where}`,
    filtered(hourRowsFromRaw(type, `SELECT * FROM ${pendingTable(type)} WHERE ${pendingWhere(where)}`, only), where),
  ], only);
}

/** The pending rows' side of a `where` over device_id and day: `day` is derived from `ts` there. */
function pendingWhere(where: string): string {
  // Outside quoted literals only: a device id may contain the word (`wm-day-001`).
  return where
    .split(/('(?:[^']|'')*')/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\bday\b/g, localDaySql('ts'))))
    .join('');
}
