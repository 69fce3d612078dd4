import { BIGINT, LIST, listValue, UBIGINT, VARCHAR, type DuckDBValue } from '@duckdb/node-api';
import type { CommandAck, DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeadLetter, DeviceStatus, OperationsStore, StateChange, StateOutcome, StoredDeadLetter } from '../types.js';
import { toNumber, type DuckDbDatabase, type ParamTypes, type Row, type Transaction } from './database.js';

export interface OperationsStoreOptions {
  /** Dead letters kept before the oldest are pruned (a hostile device must not fill the disk). Default 100,000. */
  maxDeadLetters?: number;
}

const STATUS_COLUMNS = `device_id, type, online, boot, epoch_ms(last_seen) AS last_seen, epoch_ms(last_state_at) AS last_state_at, fw, model, sample_sec, clock_skew_ms`;

function toStatus(r: Row): DeviceStatus {
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

export class DuckDbOperationsStore implements OperationsStore {
  private readonly maxDeadLetters: number;
  private deadLettersSincePrune = 0;

  constructor(
    private readonly db: DuckDbDatabase,
    options: OperationsStoreOptions = {},
  ) {
    this.maxDeadLetters = options.maxDeadLetters ?? 100_000;
  }

  async addDeadLetter(dl: DeadLetter): Promise<void> {
    await this.db.run(
      `INSERT INTO dead_letters (received_at, topic, device_id, payload, payload_bytes, truncated, reason)
       VALUES (epoch_ms($1::BIGINT), $2, $3, $4, $5, $6, $7)`,
      [dl.receivedAt, dl.topic, dl.deviceId, dl.payload, dl.payloadBytes, dl.truncated, dl.reason],
    );
    // Pruning every insert would double the write cost; every 1% of the bound keeps the overshoot small.
    if (++this.deadLettersSincePrune >= Math.max(1, Math.floor(this.maxDeadLetters / 100))) {
      this.deadLettersSincePrune = 0;
      await this.db.run(`DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - $1`, [this.maxDeadLetters]);
    }
  }

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

  /** Contract v1 "State": a death older than the latest birth is a late will and does not mark offline. */
  recordState(change: StateChange): Promise<StateOutcome> {
    return this.db.transaction(async (tx) => {
      const current = await selectStatus(tx, change.deviceId);
      const s = change.state;
      const currentBoot = current?.boot ?? -1;
      const stale = s.state === 'offline' ? s.boot < currentBoot : s.boot < currentBoot;
      await tx.run(
        `INSERT INTO state_changes VALUES ($1, $2, $3, $4, epoch_ms($5::BIGINT), epoch_ms($6::BIGINT), $7, $8)`,
        [change.deviceId, change.type, s.state, s.boot, s.ts ?? null, change.receivedAt, stale, JSON.stringify(s)],
      );
      if (!stale) {
        const birth = s.state === 'online' ? s : undefined;
        await tx.run(
          `INSERT INTO device_status (device_id, type, online, boot, last_seen, last_state_at, fw, model, sample_sec)
           VALUES ($1, $2, $3, $4, epoch_ms($5::BIGINT), epoch_ms($5::BIGINT), $6, $7, $8)
           ON CONFLICT (device_id) DO UPDATE SET type = excluded.type, online = excluded.online, boot = excluded.boot,
             last_seen = greatest(device_status.last_seen, excluded.last_seen), last_state_at = excluded.last_state_at,
             fw = coalesce(excluded.fw, device_status.fw), model = coalesce(excluded.model, device_status.model),
             sample_sec = coalesce(excluded.sample_sec, device_status.sample_sec)`,
          [change.deviceId, change.type, s.state === 'online', s.boot, change.receivedAt, birth?.fw ?? null, birth?.model ?? null, birth?.sampleSec ?? null],
        );
      }
      const status = (await selectStatus(tx, change.deviceId)) ?? unknownStatus(change.deviceId, change.type);
      return { status, stale };
    });
  }

  async touchDevice(deviceId: string, type: DeviceType, seenAt: number, boot: number): Promise<void> {
    await this.db.run(
      `INSERT INTO device_status (device_id, type, online, boot, last_seen) VALUES ($1, $2, false, $3, epoch_ms($4::BIGINT))
       ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(device_status.last_seen, excluded.last_seen),
         boot = greatest(coalesce(device_status.boot, 0), excluded.boot)`,
      [deviceId, type, boot, seenAt],
    );
  }

  async touchDevices(list: ReadonlyArray<{ deviceId: string; type: DeviceType; seenAt: number; boot: number; clockSkewMs?: number | null }>): Promise<void> {
    if (list.length === 0) return;
    // Column-wise list parameters, unnested in SQL: one statement for the whole batch.
    const col = (f: (t: (typeof list)[number]) => DuckDBValue) => listValue(list.map(f));
    await this.db.run(
      `INSERT INTO device_status (device_id, type, online, boot, last_seen, clock_skew_ms) SELECT unnest($1), unnest($2), false, unnest($3), epoch_ms(unnest($4)), unnest($5)
       ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(device_status.last_seen, excluded.last_seen),
         boot = greatest(coalesce(device_status.boot, 0), excluded.boot), clock_skew_ms = coalesce(excluded.clock_skew_ms, device_status.clock_skew_ms)`,
      [col((t) => t.deviceId), col((t) => t.type), col((t) => t.boot), col((t) => t.seenAt), col((t) => (t.clockSkewMs === undefined || t.clockSkewMs === null ? null : Math.round(t.clockSkewMs)))],
      [LIST(VARCHAR), LIST(VARCHAR), LIST(UBIGINT), LIST(BIGINT), LIST(BIGINT)] as unknown as ParamTypes,
    );
  }

  async recordClockSkews(list: ReadonlyArray<{ deviceId: string; type: DeviceType; clockSkewMs: number }>): Promise<void> {
    if (list.length === 0) return;
    const col = (f: (t: (typeof list)[number]) => DuckDBValue) => listValue(list.map(f));
    await this.db.run(
      `INSERT INTO device_status (device_id, type, online, clock_skew_ms) SELECT unnest($1), unnest($2), false, unnest($3)
       ON CONFLICT (device_id) DO UPDATE SET clock_skew_ms = excluded.clock_skew_ms`,
      [col((t) => t.deviceId), col((t) => t.type), col((t) => Math.round(t.clockSkewMs))],
      [LIST(VARCHAR), LIST(VARCHAR), LIST(BIGINT)] as unknown as ParamTypes,
    );
  }

  async getStatus(deviceId: string): Promise<DeviceStatus | undefined> {
    const [row] = await this.db.all(`SELECT ${STATUS_COLUMNS} FROM device_status WHERE device_id = $1`, [deviceId]);
    return row ? toStatus(row) : undefined;
  }

  async listStatus(): Promise<DeviceStatus[]> {
    return (await this.db.all(`SELECT ${STATUS_COLUMNS} FROM device_status ORDER BY device_id`)).map(toStatus);
  }

  async recordCommandAck(deviceId: string, ack: CommandAck, receivedAt: number): Promise<void> {
    await this.db.run(`INSERT INTO command_acks VALUES ($1, $2, $3, $4, $5, epoch_ms($6::BIGINT), epoch_ms($7::BIGINT))`, [
      deviceId,
      ack.cmdId,
      ack.ok,
      ack.result === undefined ? null : JSON.stringify(ack.result),
      ack.error ?? null,
      ack.ts,
      receivedAt,
    ]);
  }
}

async function selectStatus(tx: Transaction, deviceId: string): Promise<DeviceStatus | undefined> {
  const [row] = await tx.all(`SELECT ${STATUS_COLUMNS} FROM device_status WHERE device_id = $1`, [deviceId]);
  return row ? toStatus(row) : undefined;
}

function unknownStatus(deviceId: string, type: DeviceType): DeviceStatus {
  return { deviceId, type, online: false, boot: null, lastSeen: null, lastStateAt: null, fw: null, model: null, sampleSec: null, clockSkewMs: null };
}
