/**
 * Persists the completeness ledger and the journal checkpoint in the embedded DuckDB, in ONE transaction:
 * after a crash the ledger is exactly as of the last released journal LSN, and the journal replays the
 * rest, so the ledger never shows a gap for a message that was stored.
 */
import { BIGINT, LIST, listValue, UBIGINT, VARCHAR, type DuckDBValue } from '@duckdb/node-api';
import { toNumber, type DuckDbDatabase, type ParamTypes } from './database.js';
import type { BootRecord } from '../../ledger/ledger.js';
import type { Range } from '../../ledger/range-set.js';

export class LedgerStore {
  constructor(private readonly db: DuckDbDatabase) {}

  async load(): Promise<BootRecord[]> {
    // By column: a city's boots (130,000 meters) are one of the largest reads of a start (database.ts columns).
    const c = await this.db.columns(`SELECT device_id, boot, ranges, duplicates, epoch_ms(last_received_at) AS last_received_at FROM ledger_boots`);
    return Array.from({ length: c.device_id?.length ?? 0 }, (_, i) => {
      const ranges = c.ranges![i];
      return {
        deviceId: String(c.device_id![i]),
        boot: toNumber(c.boot![i])!,
        ranges: (typeof ranges === 'string' ? JSON.parse(ranges) : ranges) as Range[],
        duplicates: toNumber(c.duplicates![i])!,
        lastReceivedAt: toNumber(c.last_received_at![i])!,
      };
    });
  }

  async releasedLsn(): Promise<number> {
    const [row] = await this.db.all(`SELECT released_lsn FROM journal_checkpoint WHERE id = 1`);
    return toNumber(row?.released_lsn) ?? 0;
  }

  /** Upserts the changed boots and moves the journal checkpoint, atomically. */
  async persist(records: readonly BootRecord[], releasedLsn: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (records.length > 0) {
        // Column-wise list parameters, unnested in SQL: one statement whatever the number of boots.
        const col = <T>(f: (r: BootRecord) => T) => listValue(records.map(f) as DuckDBValue[]);
        await tx.run(
          `INSERT INTO ledger_boots SELECT unnest($1), unnest($2), unnest($3)::JSON, unnest($4), epoch_ms(unnest($5))
           ON CONFLICT (device_id, boot) DO UPDATE SET ranges = excluded.ranges, duplicates = excluded.duplicates,
             last_received_at = excluded.last_received_at`,
          [col((r) => r.deviceId), col((r) => r.boot), col((r) => JSON.stringify(r.ranges)), col((r) => r.duplicates), col((r) => r.lastReceivedAt)],
          [LIST(VARCHAR), LIST(UBIGINT), LIST(VARCHAR), LIST(UBIGINT), LIST(BIGINT)] as unknown as ParamTypes,
        );
      }
      await tx.run(
        `INSERT INTO journal_checkpoint VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET released_lsn = greatest(journal_checkpoint.released_lsn, excluded.released_lsn)`,
        [releasedLsn],
      );
    });
  }
}
