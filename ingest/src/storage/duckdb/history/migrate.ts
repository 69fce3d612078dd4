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
import { dayTable, names } from './rollup-sql.js';
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
 * Converts closed days' rollups stored before the compact layout (closed-hours.ts: every hourly statistic
 * as it was, 10 bytes per reading against 3.5) into it, losing nothing: each row's lists are re-encoded
 * hour by hour, a day per statement, into a new table swapped in at the end (in one transaction), so a
 * stop half way leaves the old table as it was and the next open starts again. The schema makes the
 * device index again afterwards.
 */
export async function compactClosedHours(db: DuckDbDatabase, types: readonly RolledUpType[]): Promise<RolledUpType[]> {
  const columns = new Set((await db.all(`SELECT table_name || '.' || column_name AS c FROM duckdb_columns()`)).map((r) => String(r.c)));
  const converted: RolledUpType[] = [];
  for (const type of types) {
    const [table, next] = [dayTable(type), `${dayTable(type)}_compact`];
    if (!columns.has(`${table}.h_n`) || columns.has(`${table}.h_last_ms`)) continue;
    await db.run(`DROP TABLE IF EXISTS ${next}`);
    await db.run(`CREATE TABLE ${next} (${dayColumns(type).map((c) => `${c.name} ${c.sql}`).join(', ')})`);
    // A day per statement (the table is appended day by day: each reads its own row groups).
    const days = await db.all(`SELECT DISTINCT (day - DATE '1970-01-01')::INTEGER AS day FROM ${table} ORDER BY day`);
    for (const { day } of days) {
      await db.run(`INSERT INTO ${next} (${names(dayColumns(type))}) ${compactFromPlain(type, `SELECT * FROM ${table} WHERE day = ${dateSql(Number(day))}`)}`);
    }
    await db.transaction(async (tx) => {
      await tx.run(`DROP TABLE ${table}`);
      await tx.run(`ALTER TABLE ${next} RENAME TO ${table}`);
    });
    converted.push(type);
  }
  return converted;
}
