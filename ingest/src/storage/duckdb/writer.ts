import { LIST, listValue, VARCHAR, type DuckDBValue } from '@duckdb/node-api';
import type { DeviceType, RingNodeSample } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../../errors.js';
import type { StorableMessage, StorageWriter, WriteOutcome } from '../types.js';
import type { DuckDbDatabase, ParamTypes, Transaction } from './database.js';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent } from './sample-columns.js';

/** Rows per INSERT statement: keeps the parameter count of one statement in the low thousands. */
const ROWS_PER_STATEMENT = 200;

interface RowSpec {
  table: string;
  columns: readonly string[];
  /** SQL expression per column, `?` replaced by the positional parameter. */
  exprs: readonly string[];
  listColumns: ReadonlySet<number>;
}

function specFor(table: string, columns: { name: string; expr?: string; list?: boolean }[]): RowSpec {
  return {
    table,
    columns: columns.map((c) => c.name),
    exprs: columns.map((c) => c.expr ?? '?'),
    listColumns: new Set(columns.flatMap((c, i) => (c.list ? [i] : []))),
  };
}

const KEY_COLUMNS = [{ name: 'device_id' }, { name: 'boot' }, { name: 'seq' }, { name: 'idx' }, { name: 'ts', expr: 'epoch_ms(?::BIGINT)' }, { name: 'replay' }];

const SAMPLE_SPECS = Object.fromEntries(
  (Object.keys(SAMPLE_COLUMNS) as (keyof typeof SAMPLE_COLUMNS)[]).map((type) => [
    type,
    specFor(SAMPLE_TABLES[type], [
      ...KEY_COLUMNS,
      ...SAMPLE_COLUMNS[type].map((c) => ({ name: quoteIdent(c.name), list: c.sql === 'VARCHAR[]' })),
    ]),
  ]),
) as Record<keyof typeof SAMPLE_COLUMNS, RowSpec>;

const RING_SPEC = specFor(SAMPLE_TABLES['ring-node'], [...KEY_COLUMNS, { name: 'segment_id' }, { name: 'state' }, { name: 'rx_dbm' }]);

function statement(spec: RowSpec, chunk: DuckDBValue[][]): { sql: string; params: DuckDBValue[]; types: ParamTypes } {
  const params: DuckDBValue[] = [];
  const types: ParamTypes = {};
  const tuples = chunk.map((row) => {
    const placeholders = row.map((value, col) => {
      const position = params.push(spec.listColumns.has(col) && value !== null ? listValue(value as unknown as string[]) : value);
      if (spec.listColumns.has(col)) types[String(position - 1)] = LIST(VARCHAR);
      return spec.exprs[col]!.replace('?', `$${position}`);
    });
    return `(${placeholders.join(', ')})`;
  });
  return { sql: `INSERT INTO ${spec.table} (${spec.columns.join(', ')}) VALUES ${tuples.join(', ')}`, params, types };
}

async function insertRows(tx: Transaction, spec: RowSpec, rows: DuckDBValue[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const { sql, params, types } = statement(spec, rows.slice(start, start + ROWS_PER_STATEMENT));
    await tx.run(sql, params, types);
  }
}

/** One statement (rows.length ≤ ROWS_PER_STATEMENT) with a suffix such as ON CONFLICT … RETURNING. */
async function insertRowsReturning(tx: Transaction, spec: RowSpec, rows: DuckDBValue[][], suffix: string): Promise<Array<Record<string, unknown>>> {
  const { sql, params, types } = statement(spec, rows);
  return tx.all(`${sql} ${suffix}`, params, types);
}

function sampleRows(type: Exclude<DeviceType, 'ring-node'>, m: StorableMessage & { channel: 'telemetry' }): DuckDBValue[][] {
  const cols = SAMPLE_COLUMNS[type];
  return m.payload.samples.map((sample, idx) => {
    const s = sample as Record<string, unknown>;
    return [m.deviceId, m.payload.boot, m.payload.seq, idx, s.ts as number, m.payload.replay ?? false, ...cols.map((c) => (s[c.name] ?? null) as DuckDBValue)];
  });
}

function ringRows(m: StorableMessage & { channel: 'telemetry' }): DuckDBValue[][] {
  return (m.payload.samples as RingNodeSample[]).flatMap((sample, idx) =>
    sample.segments.map((seg) => [m.deviceId, m.payload.boot, m.payload.seq, idx, sample.ts, m.payload.replay ?? false, seg.id, seg.state, seg.rxDbm ?? null]),
  );
}

const MESSAGE_SPEC = specFor('messages', [
  { name: 'device_id' },
  { name: 'boot' },
  { name: 'seq' },
  { name: 'type' },
  { name: 'channel' },
  { name: 'ts', expr: 'epoch_ms(?::BIGINT)' },
  { name: 'received_at', expr: 'epoch_ms(?::BIGINT)' },
  { name: 'replay' },
  { name: 'samples' },
]);

const EVENT_SPEC = specFor('events', [
  { name: 'device_id' },
  { name: 'boot' },
  { name: 'seq' },
  { name: 'type' },
  { name: 'ts', expr: 'epoch_ms(?::BIGINT)' },
  { name: 'replay' },
  { name: 'event_type' },
  { name: 'detail' },
]);

const keyOf = (deviceId: unknown, boot: unknown, seq: unknown) => `${String(deviceId)}\u0000${String(boot)}\u0000${String(seq)}`;

/**
 * The embedded default time-series store. Dedupes by the `messages` primary key (id, boot, seq). A batch
 * is a handful of set-based statements in one transaction: the message keys first (ON CONFLICT DO
 * NOTHING RETURNING tells which are new), then the samples and events of the new ones, per table.
 */
export class DuckDbWriter implements StorageWriter {
  constructor(private readonly db: DuckDbDatabase) {}

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    if (messages.length === 0) return [];
    try {
      return await this.db.transaction((tx) => this.writeBatch(tx, messages));
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw new IngestError('INGEST_ERR_STORAGE', `embedded store write failed: ${(err as Error).message}`, true, { cause: err });
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
    const inserted = new Set<string>();
    for (let start = 0; start < unique.length; start += ROWS_PER_STATEMENT) {
      const rows = unique.slice(start, start + ROWS_PER_STATEMENT).map((m) => {
        const p = m.payload;
        return [m.deviceId, p.boot, p.seq, m.type, m.channel, p.ts, m.receivedAt, p.replay ?? false, m.channel === 'telemetry' ? m.payload.samples.length : 0] as DuckDBValue[];
      });
      for (const r of await insertRowsReturning(tx, MESSAGE_SPEC, rows, 'ON CONFLICT DO NOTHING RETURNING device_id, boot, seq')) inserted.add(keyOf(r.device_id, r.boot, r.seq));
    }
    const outcomes = messages.map((m, i): WriteOutcome => {
      const k = keyOf(m.deviceId, m.payload.boot, m.payload.seq);
      return firstOf.get(k) === i && inserted.has(k) ? 'stored' : 'duplicate';
    });
    const fresh = messages.filter((_, i) => outcomes[i] === 'stored');
    const byTable = new Map<RowSpec, DuckDBValue[][]>();
    const push = (spec: RowSpec, rows: DuckDBValue[][]) => byTable.set(spec, [...(byTable.get(spec) ?? []), ...rows]);
    for (const m of fresh) {
      const p = m.payload;
      if (m.channel === 'event') push(EVENT_SPEC, [[m.deviceId, p.boot, p.seq, m.type, p.ts, p.replay ?? false, m.payload.type, m.payload.detail === undefined ? null : JSON.stringify(m.payload.detail)]]);
      else if (m.type === 'ring-node') push(RING_SPEC, ringRows(m));
      else push(SAMPLE_SPECS[m.type], sampleRows(m.type, m));
    }
    for (const [spec, rows] of byTable) await insertRows(tx, spec, rows);
    return outcomes;
  }

  async close(): Promise<void> {
    // The database is owned by whoever opened it (see openEmbeddedStore); nothing of the writer's own.
  }
}
