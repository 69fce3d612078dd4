import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { toNumber, type DuckDbDatabase, type Row } from './database.js';

/** What the ingest knows about a command it sent (or will send) to a device. */
export interface CommandRecord {
  cmdId: string;
  deviceId: string;
  type: DeviceType;
  name: string;
  args: Record<string, unknown> | null;
  /** The exact Command payload published (and re-published after a restart). */
  payload: string;
  createdAt: number;
  expiresAt: number;
  /** `queued` until the broker acknowledged the publish, then `sent`. Acks and expiry are derived on read. */
  state: 'queued' | 'sent';
  sentAt: number | null;
  requestedBy: string | null;
  /** The device's ack, if one arrived. */
  ack: { ok: boolean; result: Record<string, unknown> | null; error: string | null; ts: number; receivedAt: number } | null;
}

/** Commands live next to `command_acks` (written by the pipeline) in the embedded store. */
const DDL = [
  `CREATE TABLE IF NOT EXISTS commands (cmd_id VARCHAR PRIMARY KEY, device_id VARCHAR NOT NULL, type VARCHAR NOT NULL,
     name VARCHAR NOT NULL, args JSON, payload VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
     state VARCHAR NOT NULL, sent_at TIMESTAMP, requested_by VARCHAR)`,
  `CREATE INDEX IF NOT EXISTS commands_device ON commands (device_id, created_at)`,
];

const SELECT = `SELECT c.cmd_id, c.device_id, c.type, c.name, c.args, c.payload, epoch_ms(c.created_at) AS created_at,
  epoch_ms(c.expires_at) AS expires_at, c.state, epoch_ms(c.sent_at) AS sent_at, c.requested_by,
  a.ok AS ack_ok, a.result AS ack_result, a.error AS ack_error, epoch_ms(a.ts) AS ack_ts, epoch_ms(a.received_at) AS ack_received_at
  FROM commands c LEFT JOIN (
    SELECT *, row_number() OVER (PARTITION BY device_id, cmd_id ORDER BY received_at) AS n FROM command_acks
  ) a ON a.device_id = c.device_id AND a.cmd_id = c.cmd_id AND a.n = 1`;

function parseJson(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
}

function toRecord(r: Row): CommandRecord {
  return {
    cmdId: String(r.cmd_id),
    deviceId: String(r.device_id),
    type: r.type as DeviceType,
    name: String(r.name),
    args: parseJson(r.args),
    payload: String(r.payload),
    createdAt: toNumber(r.created_at)!,
    expiresAt: toNumber(r.expires_at)!,
    state: r.state === 'sent' ? 'sent' : 'queued',
    sentAt: toNumber(r.sent_at),
    requestedBy: (r.requested_by as string | null) ?? null,
    ack:
      r.ack_ok === null || r.ack_ok === undefined
        ? null
        : { ok: r.ack_ok === true, result: parseJson(r.ack_result), error: (r.ack_error as string | null) ?? null, ts: toNumber(r.ack_ts)!, receivedAt: toNumber(r.ack_received_at)! },
  };
}

export class DuckDbCommandStore {
  private constructor(private readonly db: DuckDbDatabase) {}

  static async open(db: DuckDbDatabase): Promise<DuckDbCommandStore> {
    for (const ddl of DDL) await db.run(ddl);
    return new DuckDbCommandStore(db);
  }

  async insert(c: Omit<CommandRecord, 'ack' | 'state' | 'sentAt'>): Promise<void> {
    await this.db.run(
      `INSERT INTO commands VALUES ($1, $2, $3, $4, $5, $6, epoch_ms($7::BIGINT), epoch_ms($8::BIGINT), 'queued', NULL, $9)`,
      [c.cmdId, c.deviceId, c.type, c.name, c.args === null ? null : JSON.stringify(c.args), c.payload, c.createdAt, c.expiresAt, c.requestedBy],
    );
  }

  async markSent(cmdId: string, at: number): Promise<void> {
    await this.db.run(`UPDATE commands SET state = 'sent', sent_at = epoch_ms($2::BIGINT) WHERE cmd_id = $1 AND state = 'queued'`, [cmdId, at]);
  }

  async get(deviceId: string, cmdId: string): Promise<CommandRecord | undefined> {
    const [row] = await this.db.all(`${SELECT} WHERE c.device_id = $1 AND c.cmd_id = $2`, [deviceId, cmdId]);
    return row ? toRecord(row) : undefined;
  }

  async list(deviceId: string, limit: number): Promise<CommandRecord[]> {
    return (await this.db.all(`${SELECT} WHERE c.device_id = $1 ORDER BY c.created_at DESC LIMIT $2`, [deviceId, limit])).map(toRecord);
  }

  /** Commands never published and not expired at `now`, oldest first: what a device gets on its next birth. */
  async queued(deviceId: string, now: number): Promise<CommandRecord[]> {
    return (await this.db.all(`${SELECT} WHERE c.device_id = $1 AND c.state = 'queued' AND c.expires_at > epoch_ms($2::BIGINT) ORDER BY c.created_at`, [deviceId, now])).map(toRecord);
  }
}
