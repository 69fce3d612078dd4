/**
 * The latest value of every reading of every device, kept as batches are stored, so device detail costs
 * one indexed row whatever the length of the history (it used to scan the device's whole history).
 *
 * A value replaces the stored one only when it is strictly newer by its own time: late or replayed data
 * never overwrites a newer value. As before (issue 19, device clocks), "latest" never takes a value stamped
 * beyond the server clock plus DEVICE_CLOCK_MAX_SKEW_SEC (`notAfter`): such a sample is stored with the raw
 * rows but is not taken as a latest value when it is written. A stored latest value found beyond the bound
 * when read (a clock set back, e.g. a scenario's clock) makes the read fall back to the raw rows.
 */
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { LatestReading } from '../../types.js';
import { rowsAsJson, toNumber, type SqlReader, type Transaction } from '../database.js';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent } from '../sample-columns.js';
import type { RolledUpType } from './columns.js';
import { pendingTable } from './rollup-sql.js';
import { latestTable, latestTs } from './schema.js';

const bound = (notAfterMs: number) => `ts <= epoch_ms(${Math.trunc(notAfterMs)}::BIGINT)`;

/**
 * Upserts the latest values of `select` (one row per key of `table`: keys, then each reading's value and
 * time) into `table`, a value replacing the stored one only when strictly newer.
 *
 * One UPDATE of the rows that exist and one INSERT of the new keys, not INSERT … ON CONFLICT DO UPDATE,
 * and a list value (a meter's alarms) is written only when it changes: DuckDB rewrites a row whose list
 * column is updated as a delete and an insert, and on a keyed table that costs ~50 µs a row (a fold of one
 * cycle of a 130,000-meter city took 3.9 s against 0.4 s for the same rows inserted, so the live write
 * rate halved once every meter had a latest value), while scalar columns are updated in place (~0.1 s).
 */
async function upsertNewer(tx: Pick<Transaction, 'run'>, table: string, keys: readonly string[], readings: ReadonlyArray<{ v: string; t: string; list?: boolean }>, select: string): Promise<void> {
  const stage = 'stage_latest';
  await tx.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS ${select}`);
  // Newer only. Two values of the same instant are ordered by value, as a rebuild from the raw rows does.
  const newer = (v: string, t: string) => `s.${t} IS NOT NULL AND (${table}.${t} IS NULL OR row(s.${t}, s.${v}) > row(${table}.${t}, ${table}.${v}))`;
  const on = (a: string, b: string) => keys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  // Lists first, against the stored times (the UPDATE below moves them), and only the rows they change.
  for (const { v, t } of readings.filter((r) => r.list)) {
    await tx.run(`UPDATE ${table} SET ${v} = s.${v} FROM ${stage} s WHERE ${on(table, 's')} AND ${newer(v, t)} AND s.${v} IS DISTINCT FROM ${table}.${v}`);
  }
  const set = readings.flatMap(({ v, t, list }) => [...(list ? [] : [`${v} = CASE WHEN ${newer(v, t)} THEN s.${v} ELSE ${table}.${v} END`]), `${t} = greatest(${table}.${t}, s.${t})`]);
  await tx.run(`UPDATE ${table} SET ${set.join(', ')} FROM ${stage} s WHERE ${on(table, 's')}`);
  const cols = [...keys, ...readings.flatMap(({ v, t }) => [v, t])].join(', ');
  await tx.run(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM ${stage} s WHERE NOT EXISTS (SELECT 1 FROM ${table} l WHERE ${on('l', 's')})`);
  await tx.run(`DROP TABLE ${stage}`);
}

/** Upserts the latest values found in `source` (rows shaped like the type's sample table). */
export async function updateLatest(tx: Pick<Transaction, 'run'>, type: DeviceType, source: string, notAfterMs: number): Promise<void> {
  if (type === 'ring-node') return updateRingLatest(tx, source, notAfterMs);
  const cols = SAMPLE_COLUMNS[type];
  const readings = cols.map((c) => ({ v: quoteIdent(c.name), t: latestTs(c.name), list: c.sql.endsWith('[]') }));
  const pick = readings.flatMap(({ v, t }) => {
    const when = `FILTER (WHERE ${v} IS NOT NULL AND ${bound(notAfterMs)})`;
    return [`arg_max(${v}, row(ts, ${v})) ${when} AS ${v}`, `max(ts) ${when} AS ${t}`];
  });
  await upsertNewer(tx, latestTable(type), ['device_id'], readings, `SELECT device_id, ${pick.join(', ')} FROM (${source}) s GROUP BY device_id`);
}

async function updateRingLatest(tx: Pick<Transaction, 'run'>, source: string, notAfterMs: number): Promise<void> {
  const readings = ['state', 'rx_dbm', 'supervisory'].map((f) => ({ v: f, t: `${f}_ts` }));
  const pick = readings.flatMap(({ v, t }) => {
    const when = `FILTER (WHERE ${v} IS NOT NULL AND ${bound(notAfterMs)})`;
    return [`arg_max(${v}, row(ts, ${v})) ${when} AS ${v}`, `max(ts) ${when} AS ${t}`];
  });
  await upsertNewer(tx, latestTable('ring-node'), ['device_id', 'segment_id'], readings, `SELECT device_id, segment_id, ${pick.join(', ')} FROM (${source}) s GROUP BY device_id, segment_id`);
}

/** Rebuilds every latest value from the raw rows (`source` per type), bounded by `notAfterMs`. */
export async function rebuildLatest(tx: Pick<Transaction, 'run'>, source: (type: DeviceType) => string, notAfterMs: number): Promise<void> {
  for (const type of Object.keys(SAMPLE_TABLES) as DeviceType[]) {
    await tx.run(`DELETE FROM ${latestTable(type === 'ring-node' ? 'ring-node' : type)}`);
    await updateLatest(tx, type, source(type), notAfterMs);
  }
}

/**
 * The latest readings of a device from the latest table; undefined when a stored value lies beyond
 * `notAfterMs` (the caller then reads the raw rows, which apply the bound themselves).
 */
export async function readLatest(db: SqlReader, deviceId: string, type: DeviceType, notAfterMs: number): Promise<Record<string, LatestReading> | undefined> {
  if (type === 'ring-node') return readRingLatest(db, deviceId, notAfterMs);
  const cols = SAMPLE_COLUMNS[type as RolledUpType];
  // The latest row and the samples not yet folded into it (rollups.ts fold; a stored batch shows at once)
  // in one statement, so one snapshot: a fold committing meanwhile can neither hide nor double them. The
  // pending rows as they are (a few per device), each value with the sample's time; the first row is the
  // latest table's (pending 0). Aggregating them in SQL took ~5 ms to plan and run at 30 days of 130,000
  // meters; this, kept prepared (read-pool.ts all), ~1 ms.
  const fromLatest = cols.flatMap((c, i) => [`${quoteIdent(c.name)} AS v${i}`, `epoch_ms(${latestTs(c.name)}) AS t${i}`]);
  const fromPending = cols.flatMap((c, i) => [quoteIdent(c.name), `CASE WHEN ${quoteIdent(c.name)} IS NOT NULL THEN epoch_ms(ts) END`]);
  const rows = await rowsAsJson(
    db,
    `SELECT 0 AS pending, ${fromLatest.join(', ')} FROM ${latestTable(type as RolledUpType)} WHERE device_id = $1
     UNION ALL
     SELECT 1, ${fromPending.join(', ')} FROM ${pendingTable(type as RolledUpType)} WHERE device_id = $1 AND ts <= epoch_ms($2::BIGINT)`,
    [deviceId, Math.trunc(notAfterMs)],
  );
  const out: Record<string, LatestReading> = {};
  for (const [i, c] of cols.entries()) {
    let best: { value: unknown; ts: number } | undefined;
    for (const row of rows) {
      const at = toNumber(row[`t${i}`]);
      if (at === null) continue;
      // A stored value past the bound: the raw rows, which apply it (see above).
      if (row.pending === 0 && at > notAfterMs) return undefined;
      const value = row[`v${i}`];
      if (value === null || value === undefined) continue;
      // As the fold takes them: the newest by its own time, two of the same instant ordered by value.
      if (!best || at > best.ts || (at === best.ts && compareValues(c.sql === 'BIGINT' ? toNumber(value) : value, c.sql === 'BIGINT' ? toNumber(best.value) : best.value) > 0)) best = { value, ts: at };
    }
    if (best) out[c.name] = { value: c.sql === 'BIGINT' ? toNumber(best.value) : best.value, ts: best.ts };
  }
  return out;
}

/** DuckDB's order of two values of one column as JSON gives them: numbers, booleans, text, lists of them. */
function compareValues(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

async function readRingLatest(db: SqlReader, deviceId: string, notAfterMs: number): Promise<Record<string, LatestReading> | undefined> {
  const rows = await db.all(
    `SELECT segment_id, state, rx_dbm, supervisory, epoch_ms(greatest(state_ts, rx_dbm_ts, supervisory_ts)) AS ts
     FROM ${latestTable('ring-node')} WHERE device_id = $1 AND state IS NOT NULL ORDER BY segment_id`,
    [deviceId],
  );
  if (rows.length === 0) return {};
  const ts = Math.max(...rows.map((r) => toNumber(r.ts)!));
  if (ts > notAfterMs) return undefined;
  const segments = rows.map((r) => ({
    id: r.segment_id,
    state: r.state,
    ...(r.rx_dbm === null || r.rx_dbm === undefined ? {} : { rxDbm: r.rx_dbm }),
    ...(r.supervisory === null || r.supervisory === undefined ? {} : { supervisory: r.supervisory }),
  }));
  return { segments: { value: segments, ts } };
}
