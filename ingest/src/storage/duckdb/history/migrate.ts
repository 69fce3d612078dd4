/**
 * Upgrades a store made before issue 15. Its `messages` table had a primary key on (device_id, boot, seq):
 * DuckDB keeps such an index (ART) for every row ever stored, tens of bytes per message on disk and in
 * memory, and the archive could never honour it anyway (archived keys leave the table). The writer now
 * finds duplicates itself (writer.ts) and the completeness ledger knows every sequence ever received, so
 * the table is rebuilt without the key, once.
 */
import type { DuckDbDatabase } from '../database.js';
import { messagesDdl } from '../schema.js';
import { compactFromPlain, dayColumns } from './closed-hours.js';
import type { RolledUpType } from './columns.js';
import { dayTable, names, plainDayTable } from './rollup-sql.js';
import { dateSql } from './rollups.js';

export async function dropMessagesPrimaryKey(db: DuckDbDatabase): Promise<boolean> {
  const [row] = await db.all(`SELECT count(*)::INTEGER AS n FROM duckdb_constraints() WHERE table_name = 'messages' AND constraint_type = 'PRIMARY KEY'`);
  if (Number(row?.n ?? 0) === 0) return false;
  await db.transaction(async (tx) => {
    // In arrival order, which the writer's duplicate check relies on to skip old row groups.
    await tx.run(messagesDdl('messages_unkeyed'));
    await tx.run(`INSERT INTO messages_unkeyed SELECT * FROM messages ORDER BY received_at`);
    await tx.run(`DROP TABLE messages`);
    await tx.run(`ALTER TABLE messages_unkeyed RENAME TO messages`);
  });
  return true;
}

/**
 * Upgrades rollups made before counters kept their largest drop (columns.ts `drop`): the columns are added
 * as +∞, "not known", so no reader trusts `last − first` where a register may have fallen; the rebuild
 * that follows (a new HISTORY_VERSION) makes them exact for every day that still has raw rows. Days whose
 * raw rows are gone (past ARCHIVE_RETENTION_DAYS) keep their rollups: they may be all that is left.
 * `columns`: per table, the scalar and list columns to add. DuckDB does not alter a table with an index,
 * so `indexes` are dropped first (the schema makes them again).
 */
export async function addRollupDrops(db: DuckDbDatabase, columns: ReadonlyArray<{ table: string; scalar: readonly string[]; lists: readonly string[] }>, indexes: readonly string[]): Promise<boolean> {
  const have = new Set((await db.all(`SELECT table_name || '.' || column_name AS c FROM duckdb_columns()`)).map((r) => String(r.c)));
  const tables = new Set((await db.all(`SELECT table_name AS t FROM duckdb_tables()`)).map((r) => String(r.t)));
  const missing = columns.filter((c) => tables.has(c.table)).flatMap((c) => [...c.scalar.map((n) => ({ table: c.table, n, list: false })), ...c.lists.map((n) => ({ table: c.table, n, list: true }))]).filter((c) => !have.has(`${c.table}.${c.n}`));
  if (missing.length === 0) return false;
  const unknown24 = `[${Array.from({ length: 24 }, () => `'infinity'::DOUBLE`).join(', ')}]`;
  // One statement each (DuckDB refuses two alterations of a table in one transaction); a stop half way
  // leaves the rest to add at the next open.
  for (const i of indexes) await db.run(`DROP INDEX IF EXISTS ${i}`);
  for (const c of missing) await db.run(`ALTER TABLE ${c.table} ADD COLUMN "${c.n}" ${c.list ? `DOUBLE[] DEFAULT ${unknown24}` : `DOUBLE DEFAULT 'infinity'::DOUBLE`}`);
  return true;
}

/**
 * Closed days' rollups stored before the compact layout (closed-hours.ts: every hourly statistic as it
 * was, 10 bytes per reading against 3.5) are converted in the background, never at open: a 30-day city
 * store took 12 minutes. At open the old table is only renamed to `plainDayTable` (the schema then makes
 * the compact one); readers read both (rollups.ts dayRows, hourRows), and `convertPlainShare` moves a
 * share of a day at a time, in one transaction, so a device's day is in exactly one of them at every
 * instant. Returns the types whose table was set aside.
 */
export async function setAsidePlainLayout(db: DuckDbDatabase, types: readonly RolledUpType[]): Promise<RolledUpType[]> {
  const columns = new Set((await db.all(`SELECT table_name || '.' || column_name AS c FROM duckdb_columns()`)).map((r) => String(r.c)));
  const tables = new Set((await db.all(`SELECT table_name AS t FROM duckdb_tables()`)).map((r) => String(r.t)));
  const setAside: RolledUpType[] = [];
  for (const type of types) {
    const [table, plain] = [dayTable(type), plainDayTable(type)];
    // The table of an earlier conversion at open (never released); the plain table still holds its days.
    await db.run(`DROP TABLE IF EXISTS ${table}_compact`);
    if (!columns.has(`${table}.h_n`) || columns.has(`${table}.h_last_ms`)) continue;
    // DuckDB does not rename a table with an index: the schema makes the compact table's again.
    await db.run(`DROP INDEX IF EXISTS ${table}_device`);
    if (tables.has(plain)) {
      await db.transaction(async (tx) => {
        await tx.run(`INSERT INTO ${plain} BY NAME SELECT * FROM ${table}`);
        await tx.run(`DROP TABLE ${table}`);
      });
    } else await db.run(`ALTER TABLE ${table} RENAME TO ${plain}`);
    setAside.push(type);
  }
  return setAside;
}

/**
 * Devices of a day converted per transaction, one share per maintenance pass (every 10 s): the writer waits
 * for it. On one DuckDB thread of a shared machine (load 4–5), 10,000 devices took 3–8 s (re-encoding the
 * lists ~1.4 s, appending under the device index ~1.2 s when measured apart), 20,000 4.4–6.5 s: a 30-day
 * store of 130,000 meters converts in about an hour of passes.
 */
export const CONVERT_SHARE_DEVICES = 10_000;

/**
 * Converts the plain rows of the oldest day left, for the first `devices` devices of it, into the compact
 * table, in one transaction. Returns the rows converted (0: nothing left of `type`).
 */
export async function convertPlainShare(db: DuckDbDatabase, type: RolledUpType, devices = CONVERT_SHARE_DEVICES): Promise<number> {
  const plain = plainDayTable(type);
  const [first] = await db.all(`SELECT (min(day) - DATE '1970-01-01')::INTEGER AS day FROM ${plain}`);
  if (first?.day === null || first?.day === undefined) return 0;
  const day = dateSql(Number(first.day));
  const [bound] = await db.all(`SELECT max(device_id) AS d FROM (SELECT device_id FROM ${plain} WHERE day = ${day} ORDER BY device_id LIMIT ${Math.trunc(devices)})`);
  const share = `day = ${day} AND device_id <= '${String(bound!.d).replaceAll("'", "''")}'`;
  return db.transaction(async (tx) => {
    const [n] = await tx.all(`SELECT count(*)::INTEGER AS n FROM ${plain} WHERE ${share}`);
    await tx.run(`INSERT INTO ${dayTable(type)} (${names(dayColumns(type))}) ${compactFromPlain(type, `SELECT * FROM ${plain} WHERE ${share}`)} ORDER BY device_id`);
    await tx.run(`DELETE FROM ${plain} WHERE ${share}`);
    return Number(n?.n ?? 0);
  });
}
