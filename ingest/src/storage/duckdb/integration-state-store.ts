/**
 * What integrations must remember across restarts, in the embedded store: per LoRaWAN meter its sessions
 * (join → boot, the first frame counter heard) and latest device status; per Sparkplug edge node its
 * births (boot, bdSeq). A boot number handed out once must never be handed out again, so a state change
 * is saved before the message it numbers is journalled.
 */
import type { DuckDbDatabase } from './database.js';

const DDL = `CREATE TABLE IF NOT EXISTS integration_state (kind VARCHAR NOT NULL, key VARCHAR NOT NULL, state JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL, PRIMARY KEY (kind, key))`;

export type StateKind = 'lorawan' | 'sparkplug';

export class IntegrationStateStore {
  private constructor(private readonly db: DuckDbDatabase) {}

  static async open(db: DuckDbDatabase): Promise<IntegrationStateStore> {
    await db.run(DDL);
    return new IntegrationStateStore(db);
  }

  async load<T>(kind: StateKind): Promise<Map<string, T>> {
    const rows = await this.db.all(`SELECT key, state FROM integration_state WHERE kind = $1`, [kind]);
    return new Map(rows.map((r) => [String(r.key), (typeof r.state === 'string' ? JSON.parse(r.state) : r.state) as T]));
  }

  async save(kind: StateKind, key: string, state: unknown, at: number): Promise<void> {
    await this.db.run(
      `INSERT INTO integration_state VALUES ($1, $2, $3, epoch_ms($4::BIGINT))
       ON CONFLICT (kind, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      [kind, key, JSON.stringify(state), Math.trunc(at)],
    );
  }
}
