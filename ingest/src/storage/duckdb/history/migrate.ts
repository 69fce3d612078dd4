/**
 * Upgrades a store made before issue 15. Its `messages` table had a primary key on (device_id, boot, seq):
 * DuckDB keeps such an index (ART) for every row ever stored, tens of bytes per message on disk and in
 * memory, and the archive could never honour it anyway (archived keys leave the table). The writer now
 * finds duplicates itself (writer.ts) and the completeness ledger knows every sequence ever received, so
 * the table is rebuilt without the key, once.
 */
import type { DuckDbDatabase } from '../database.js';
import { messagesDdl } from '../schema.js';

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
 * Upgrades rollups made before counters kept their largest drop (columns.ts `drop`): their tables are
 * dropped, to be made again and rebuilt from the raw rows (a new HISTORY_VERSION). Pending rows stay: they
 * are raw rows, and the rebuild reads the raw tables anyway.
 */
export async function dropRollupsWithoutDrop(db: DuckDbDatabase, tables: readonly string[], probe: { table: string; column: string }): Promise<boolean> {
  const [row] = await db.all(`SELECT count(*) FILTER (WHERE column_name = $2)::INTEGER AS has, count(*)::INTEGER AS cols FROM duckdb_columns() WHERE table_name = $1`, [probe.table, probe.column]);
  if (Number(row?.cols ?? 0) === 0 || Number(row?.has ?? 0) > 0) return false;
  await db.transaction(async (tx) => {
    for (const t of tables) await tx.run(`DROP TABLE IF EXISTS ${t}`);
  });
  return true;
}
