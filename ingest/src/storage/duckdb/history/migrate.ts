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
