import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeviceStatus, OperationsReader, StoredDeadLetter } from '../types.js';
import { canSnapshot, rowsAsJson, toNumber, type Row, type SqlReader } from './database.js';

export const STATUS_COLUMNS = `device_id, type, online, boot, epoch_ms(last_seen) AS last_seen, epoch_ms(last_state_at) AS last_state_at, fw, model, sample_sec, clock_skew_ms`;

export function toStatus(r: Row): DeviceStatus {
  return {
    deviceId: String(r.device_id),
    type: r.type as DeviceType,
    online: r.online === true,
    boot: toNumber(r.boot),
    lastSeen: toNumber(r.last_seen),
    lastStateAt: toNumber(r.last_state_at),
    fw: (r.fw as string | null) ?? null,
    model: (r.model as string | null) ?? null,
    sampleSec: toNumber(r.sample_sec),
    clockSkewMs: toNumber(r.clock_skew_ms),
  };
}

/**
 * The reads of the operations tables (dead letters, device status), on any SqlReader: the store's own
 * connection for the ingest, the read pool for the API.
 */
export class DuckDbOperationsReader implements OperationsReader {
  /** `statusPage`: device statuses converted between two turns of the event loop (listStatus). */
  constructor(
    private readonly db: SqlReader,
    private readonly statusPage = 20_000,
  ) {}

  async listDeadLetters(q: { limit: number; beforeId?: number; deviceId?: string }): Promise<StoredDeadLetter[]> {
    const rows = await this.db.all(
      `SELECT id, epoch_ms(received_at) AS received_at, topic, device_id, payload, payload_bytes, truncated, reason
       FROM dead_letters WHERE ($1::BIGINT IS NULL OR id < $1::BIGINT) AND ($2::VARCHAR IS NULL OR device_id = $2::VARCHAR)
       ORDER BY id DESC LIMIT $3`,
      [q.beforeId ?? null, q.deviceId ?? null, q.limit],
    );
    return rows.map((r) => ({
      id: toNumber(r.id)!,
      receivedAt: toNumber(r.received_at)!,
      topic: String(r.topic),
      deviceId: (r.device_id as string | null) ?? null,
      payload: String(r.payload),
      payloadBytes: toNumber(r.payload_bytes)!,
      truncated: r.truncated === true,
      reason: String(r.reason),
    }));
  }

  async countDeadLetters(): Promise<number> {
    const [row] = await this.db.all(`SELECT count(*) AS n FROM dead_letters`);
    return toNumber(row?.n) ?? 0;
  }

  async getStatus(deviceId: string): Promise<DeviceStatus | undefined> {
    const [row] = await rowsAsJson(this.db, `SELECT ${STATUS_COLUMNS} FROM device_status WHERE device_id = $1`, [deviceId]);
    return row ? toStatus(row) : undefined;
  }

  /**
   * Every device's status, by device id, read a page at a time in one snapshot (so as of one moment, and on
   * the store's own connection in its queue's order, as last-seen.ts needs): a city's 130,000 rows turned
   * into objects at once held the event loop ~0.5 s, with their garbage ~1 s (the silence rules' first
   * evaluation, the device grid).
   */
  async listStatus(): Promise<DeviceStatus[]> {
    const read = async (q: SqlReader) => {
      const out: DeviceStatus[] = [];
      for (let after: string | null = null; ; ) {
        const rows = await q.all(`SELECT ${STATUS_COLUMNS} FROM device_status WHERE $1::VARCHAR IS NULL OR device_id > $1::VARCHAR ORDER BY device_id LIMIT ${Math.trunc(this.statusPage)}`, [after]);
        for (const r of rows) out.push(toStatus(r));
        if (rows.length < this.statusPage) return out;
        after = out[out.length - 1]!.deviceId;
      }
    };
    return canSnapshot(this.db) ? this.db.snapshot(read) : read(this.db);
  }
}
