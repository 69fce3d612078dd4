import { BIGINT, BOOLEAN, DOUBLE, INTEGER, LIST, listValue, TIMESTAMP, timestampValue, UBIGINT, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { DeviceType, RingNodeSample } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../../errors.js';
import type { StorableMessage, StorageWriter, WriteOutcome } from '../types.js';
import type { DuckDbDatabase, ParamTypes, Transaction } from './database.js';
import type { StoredSamples } from './history/index.js';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, type ColumnSql } from './sample-columns.js';

/** Rows per statement: bounds the size of one statement's list parameters. */
const ROWS_PER_STATEMENT = 50_000;

const TYPES: Record<ColumnSql, DuckDBType> = {
  DOUBLE,
  BIGINT,
  INTEGER,
  VARCHAR,
  BOOLEAN,
  'VARCHAR[]': LIST(VARCHAR),
};

interface Column {
  name: string;
  type: DuckDBType;
  /** SQL around the value, `?` standing for it (e.g. `epoch_ms(?)`). */
  expr?: string;
}

/**
 * Column-wise inserts: one LIST parameter per column, turned back into rows by `unnest` in SQL. DuckDB
 * binds a few list values far faster than thousands of scalar parameters (measured: ~20–100 ms instead of
 * over a second for 1,000 messages), and the statement text is the same for every batch.
 */
class ColumnInsert {
  constructor(
    readonly table: string,
    readonly columns: readonly Column[],
  ) {}

  async run(tx: Transaction, rows: DuckDBValue[][]): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const params: DuckDBValue[] = this.columns.map((_, c) => listValue(chunk.map((r) => r[c] ?? null)));
      // An array, not a record keyed '0', '1', …: @duckdb/node-api 1.5 ignores record-keyed types for
      // positional values and infers from the first element, so a list starting with null lost its values.
      const types = this.columns.map((c) => LIST(c.type)) as unknown as ParamTypes;
      const select = this.columns.map((c, i) => (c.expr ?? '?').replace('?', `unnest($${i + 1})`)).join(', ');
      await tx.run(`INSERT INTO ${this.table} (${this.columns.map((c) => c.name).join(', ')}) SELECT ${select}`, params, types);
    }
  }
}

const KEY: Column[] = [
  { name: 'device_id', type: VARCHAR },
  { name: 'boot', type: UBIGINT },
  { name: 'seq', type: UBIGINT },
];
const ts = (name = 'ts'): Column => ({ name, type: BIGINT, expr: 'epoch_ms(?)' });

/** The messages table's columns in table order, for the appender (as fast for keys as for samples). */
const MESSAGE_TYPES: DuckDBType[] = [VARCHAR, UBIGINT, UBIGINT, VARCHAR, VARCHAR, TIMESTAMP, TIMESTAMP, BOOLEAN, INTEGER];
const msTimestamp = (ms: number) => timestampValue(BigInt(ms) * 1000n);
const EVENTS = new ColumnInsert('events', [...KEY, { name: 'type', type: VARCHAR }, ts(), { name: 'replay', type: BOOLEAN }, { name: 'event_type', type: VARCHAR }, { name: 'detail', type: VARCHAR, expr: '?::JSON' }]);

/** How a JS value of a reading becomes the DuckDB value its column's vector takes. */
const TO_DUCKDB: Record<ColumnSql, (v: unknown) => DuckDBValue> = {
  DOUBLE: (v) => v as number,
  INTEGER: (v) => v as number,
  BIGINT: (v) => BigInt(v as number),
  VARCHAR: (v) => v as string,
  BOOLEAN: (v) => v as boolean,
  'VARCHAR[]': (v) => listValue(v as string[]),
};

/** Sample rows of one table, gathered column by column for Transaction.append (table column order). */
class SampleColumns {
  readonly columns: DuckDBValue[][];
  constructor(readonly type: DeviceType, readonly types: readonly DuckDBType[]) {
    this.columns = types.map(() => []);
  }

  get table(): string {
    return SAMPLE_TABLES[this.type];
  }

  /** The key columns every sample table starts with: device_id, boot, seq, idx, ts, replay. */
  pushKey(m: StorableMessage, idx: number, tsMs: number): void {
    const c = this.columns;
    c[0]!.push(m.deviceId);
    c[1]!.push(BigInt(m.payload.boot));
    c[2]!.push(BigInt(m.payload.seq));
    c[3]!.push(idx);
    c[4]!.push(timestampValue(BigInt(tsMs) * 1000n));
    c[5]!.push(m.payload.replay ?? false);
  }
}

const SAMPLE_KEY_TYPES: DuckDBType[] = [VARCHAR, UBIGINT, UBIGINT, INTEGER, TIMESTAMP, BOOLEAN];
const RING_TYPES: DuckDBType[] = [...SAMPLE_KEY_TYPES, VARCHAR, VARCHAR, DOUBLE, VARCHAR];
const sampleTypes = (type: keyof typeof SAMPLE_COLUMNS): DuckDBType[] => [...SAMPLE_KEY_TYPES, ...SAMPLE_COLUMNS[type].map((c) => TYPES[c.sql])];

function pushSamples(target: SampleColumns, type: Exclude<DeviceType, 'ring-node'>, m: StorableMessage & { channel: 'telemetry' }): void {
  const cols = SAMPLE_COLUMNS[type];
  m.payload.samples.forEach((sample, idx) => {
    const s = sample as Record<string, unknown>;
    target.pushKey(m, idx, s.ts as number);
    for (let c = 0; c < cols.length; c++) {
      const v = s[cols[c]!.name];
      target.columns[6 + c]!.push(v === undefined ? null : TO_DUCKDB[cols[c]!.sql](v));
    }
  });
}

function pushRing(target: SampleColumns, m: StorableMessage & { channel: 'telemetry' }): void {
  (m.payload.samples as RingNodeSample[]).forEach((sample, idx) => {
    for (const seg of sample.segments) {
      target.pushKey(m, idx, sample.ts);
      target.columns[6]!.push(seg.id);
      target.columns[7]!.push(seg.state);
      target.columns[8]!.push(seg.rxDbm ?? null);
      target.columns[9]!.push(seg.supervisory ?? null);
    }
  });
}

const keyOf = (deviceId: unknown, boot: unknown, seq: unknown) => `${String(deviceId)}\u0000${String(boot)}\u0000${String(seq)}`;

/**
 * Keys of `messages` (unique in the batch) already in the table with an arrival time within the batch's:
 * the table is in arrival order, so DuckDB reads only the row groups of those times.
 */
async function storedAlready(tx: Transaction, messages: readonly StorableMessage[]): Promise<Set<string>> {
  let [lo, hi] = [Infinity, -Infinity];
  for (const m of messages) [lo, hi] = [Math.min(lo, m.receivedAt), Math.max(hi, m.receivedAt)];
  const col = <T>(f: (m: StorableMessage) => T) => listValue(messages.map(f) as DuckDBValue[]);
  const rows = await tx.all(
    `SELECT m.device_id, m.boot, m.seq FROM messages m SEMI JOIN (SELECT unnest($1) AS device_id, unnest($2) AS boot, unnest($3) AS seq) k USING (device_id, boot, seq)
     WHERE m.received_at BETWEEN epoch_ms($4::BIGINT) AND epoch_ms($5::BIGINT)`,
    [col((m) => m.deviceId), col((m) => m.payload.boot), col((m) => m.payload.seq), lo, hi],
    [LIST(VARCHAR), LIST(UBIGINT), LIST(UBIGINT), BIGINT, BIGINT] as unknown as ParamTypes,
  );
  return new Set(rows.map((r) => keyOf(r.device_id, r.boot, r.seq)));
}

/** What the writer does after a batch's samples are in, inside the same transaction (history/index.ts). */
export interface StoredBatchHook {
  onBatch(tx: Transaction, stored: readonly StoredSamples[]): Promise<void>;
}

/**
 * The embedded default time-series store. A batch is a handful of statements in one transaction: which
 * of its messages are stored already, then the keys, samples and events of the new ones, one statement per
 * table, then the history hook (latest values, rollups).
 *
 * Duplicates by (id, boot, seq): within the batch; then among the messages stored with the same arrival
 * times (a batch replayed from the journal after a crash keeps its messages' arrival times, so this finds
 * a batch stored just before the crash, scanning only the newest rows); redeliveries of older messages are
 * known to the completeness ledger, which the pipeline asks first (`seen`), archived or not.
 */
export class DuckDbWriter implements StorageWriter {
  constructor(
    private readonly db: DuckDbDatabase,
    private readonly history?: StoredBatchHook,
  ) {}

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    if (messages.length === 0) return [];
    try {
      return await this.db.transaction((tx) => this.writeBatch(tx, messages));
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw new IngestError('INGEST_ERR_STORAGE', `embedded store write failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private async writeBatch(tx: Transaction, messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    // A message twice in one batch (a redelivery that overtook its ack) is stored once.
    const firstOf = new Map<string, number>();
    messages.forEach((m, i) => {
      const k = keyOf(m.deviceId, m.payload.boot, m.payload.seq);
      if (!firstOf.has(k)) firstOf.set(k, i);
    });
    const unique = [...firstOf.values()].map((i) => messages[i]!);
    const stored = await storedAlready(tx, unique);
    const fresh = unique.filter((m) => !stored.has(keyOf(m.deviceId, m.payload.boot, m.payload.seq)));
    const keys: DuckDBValue[][] = MESSAGE_TYPES.map(() => []);
    for (const m of fresh) {
      const p = m.payload;
      const row: DuckDBValue[] = [m.deviceId, BigInt(p.boot), BigInt(p.seq), m.type, m.channel, msTimestamp(p.ts), msTimestamp(m.receivedAt), p.replay ?? false, m.channel === 'telemetry' ? m.payload.samples.length : 0];
      row.forEach((v, c) => keys[c]!.push(v));
    }
    await tx.append('messages', MESSAGE_TYPES, keys);
    const outcomes = messages.map((m, i): WriteOutcome => {
      const k = keyOf(m.deviceId, m.payload.boot, m.payload.seq);
      return firstOf.get(k) === i && !stored.has(k) ? 'stored' : 'duplicate';
    });
    const tables = new Map<string, SampleColumns>();
    const tableFor = (type: DeviceType, types: () => DuckDBType[]) => {
      let t = tables.get(type);
      if (!t) tables.set(type, (t = new SampleColumns(type, types())));
      return t;
    };
    const events: DuckDBValue[][] = [];
    messages.forEach((m, i) => {
      if (outcomes[i] !== 'stored') return;
      const p = m.payload;
      if (m.channel === 'event') events.push([m.deviceId, p.boot, p.seq, m.type, p.ts, p.replay ?? false, m.payload.type, m.payload.detail === undefined ? null : JSON.stringify(m.payload.detail)]);
      else if (m.type === 'ring-node') pushRing(tableFor('ring-node', () => RING_TYPES), m);
      else pushSamples(tableFor(m.type, () => sampleTypes(m.type as Exclude<DeviceType, 'ring-node'>)), m.type, m);
    });
    if (events.length > 0) await EVENTS.run(tx, events);
    for (const t of tables.values()) await tx.append(t.table, t.types, t.columns);
    if (this.history && tables.size > 0) await this.history.onBatch(tx, [...tables.values()]);
    return outcomes;
  }

  async close(): Promise<void> {
    // The database is owned by whoever opened it (see openEmbeddedStore); nothing of the writer's own.
  }
}
