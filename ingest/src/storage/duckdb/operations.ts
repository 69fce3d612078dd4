import { BIGINT, LIST, listValue, UBIGINT, VARCHAR, type DuckDBValue } from '@duckdb/node-api';
import type { CommandAck, DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeadLetter, DeviceStatus, OperationsStore, StateChange, StateOutcome, StoredDeadLetter } from '../types.js';
import type { DuckDbDatabase, ParamTypes, Transaction } from './database.js';
import { LastSeenIndex, type HeardDevice } from './last-seen.js';
import { DuckDbOperationsReader, STATUS_COLUMNS, toStatus } from './operations-reader.js';

export interface OperationsStoreOptions {
  /** Dead letters kept before the oldest are pruned (a hostile device must not fill the disk). Default 100,000. */
  maxDeadLetters?: number;
}

export class DuckDbOperationsStore implements OperationsStore {
  private readonly maxDeadLetters: number;
  private deadLettersSincePrune = 0;
  /** Its reads run on its own queue; the API reads through a DuckDbOperationsReader on the read pool. */
  private readonly reads: DuckDbOperationsReader;
  /** Last seen of every device, kept in step with the writes below (last-seen.ts). */
  private readonly heard: LastSeenIndex;

  constructor(
    private readonly db: DuckDbDatabase,
    options: OperationsStoreOptions = {},
  ) {
    this.maxDeadLetters = options.maxDeadLetters ?? 100_000;
    this.reads = new DuckDbOperationsReader(db);
    this.heard = new LastSeenIndex(() => this.reads.listStatus());
  }

  /** When each device was last heard (the silence rules' clock reads it every evaluation), from memory. */
  listLastSeen(): Promise<HeardDevice[]> {
    return this.heard.list();
  }

  /** Each device whose last seen, status or interval changes from now on, once stored (last-seen.ts onChange). */
  onLastSeenChange(listener: (d: HeardDevice) => void): () => void {
    return this.heard.onChange(listener);
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

  listDeadLetters(q: { limit: number; beforeId?: number; deviceId?: string }): Promise<StoredDeadLetter[]> {
    return this.reads.listDeadLetters(q);
  }

  countDeadLetters(): Promise<number> {
    return this.reads.countDeadLetters();
  }

  /** Contract v1 "State": a death older than the latest birth is a late will and does not mark offline. */
  async recordState(change: StateChange): Promise<StateOutcome> {
    const outcome = await this.db.transaction(async (tx) => {
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
    if (!outcome.stale) this.heard.setStatus(outcome.status);
    return outcome;
  }

  async touchDevice(deviceId: string, type: DeviceType, seenAt: number, boot: number): Promise<void> {
    await this.db.run(
      `INSERT INTO device_status (device_id, type, online, boot, last_seen) VALUES ($1, $2, false, $3, epoch_ms($4::BIGINT))
       ON CONFLICT (device_id) DO UPDATE SET last_seen = greatest(device_status.last_seen, excluded.last_seen),
         boot = greatest(coalesce(device_status.boot, 0), excluded.boot)`,
      [deviceId, type, boot, seenAt],
    );
    this.heard.touched([{ deviceId, type, seenAt }]);
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
    this.heard.touched(list);
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
    this.heard.known(list);
  }

  getStatus(deviceId: string): Promise<DeviceStatus | undefined> {
    return this.reads.getStatus(deviceId);
  }

  listStatus(): Promise<DeviceStatus[]> {
    return this.reads.listStatus();
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
