/**
 * Persists the completeness ledger and the journal checkpoint in the embedded DuckDB, in ONE transaction:
 * after a crash the ledger is exactly as of the last released journal LSN, and the journal replays the
 * rest, so the ledger never shows a gap for a message that was stored.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { toNumber, type DuckDbDatabase } from '../storage/duckdb/database.js';
import type { BootRecord } from './ledger.js';
import type { Range } from './range-set.js';

const ROWS_PER_STATEMENT = 500;

export class LedgerStore {
  constructor(private readonly db: DuckDbDatabase) {}

  async load(): Promise<BootRecord[]> {
    const rows = await this.db.all(`SELECT device_id, boot, ranges, duplicates, epoch_ms(last_received_at) AS last_received_at FROM ledger_boots`);
    return rows.map((r) => ({
      deviceId: String(r.device_id),
      boot: toNumber(r.boot)!,
      ranges: (typeof r.ranges === 'string' ? JSON.parse(r.ranges) : r.ranges) as Range[],
      duplicates: toNumber(r.duplicates)!,
      lastReceivedAt: toNumber(r.last_received_at)!,
    }));
  }

  async releasedLsn(): Promise<number> {
    const [row] = await this.db.all(`SELECT released_lsn FROM journal_checkpoint WHERE id = 1`);
    return toNumber(row?.released_lsn) ?? 0;
  }

  /** Upserts the changed boots and moves the journal checkpoint, atomically. */
  async persist(records: readonly BootRecord[], releasedLsn: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (let start = 0; start < records.length; start += ROWS_PER_STATEMENT) {
        const chunk = records.slice(start, start + ROWS_PER_STATEMENT);
        const params: DuckDBValue[] = [];
        const tuples = chunk.map((r) => {
          const n = params.push(r.deviceId, r.boot, JSON.stringify(r.ranges), r.duplicates, r.lastReceivedAt);
          return `($${n - 4}, $${n - 3}, $${n - 2}::JSON, $${n - 1}, epoch_ms($${n}::BIGINT))`;
        });
        await tx.run(
          `INSERT INTO ledger_boots VALUES ${tuples.join(', ')}
           ON CONFLICT (device_id, boot) DO UPDATE SET ranges = excluded.ranges, duplicates = excluded.duplicates,
             last_received_at = excluded.last_received_at`,
          params,
        );
      }
      await tx.run(
        `INSERT INTO journal_checkpoint VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET released_lsn = greatest(journal_checkpoint.released_lsn, excluded.released_lsn)`,
        [releasedLsn],
      );
    });
  }
}
