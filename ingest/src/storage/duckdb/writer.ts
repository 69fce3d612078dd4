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

async function insertRows(tx: Transaction, spec: RowSpec, rows: DuckDBValue[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
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
    await tx.run(`INSERT INTO ${spec.table} (${spec.columns.join(', ')}) VALUES ${tuples.join(', ')}`, params, types);
  }
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

/** The embedded default time-series store. Dedupes by the `messages` primary key (id, boot, seq). */
export class DuckDbWriter implements StorageWriter {
  constructor(private readonly db: DuckDbDatabase) {}

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    if (messages.length === 0) return [];
    try {
      return await this.db.transaction(async (tx) => {
        const outcomes: WriteOutcome[] = [];
        for (const m of messages) outcomes.push(await this.writeOne(tx, m));
        return outcomes;
      });
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw new IngestError('INGEST_ERR_STORAGE', `embedded store write failed: ${(err as Error).message}`, true, { cause: err });
    }
  }

  private async writeOne(tx: Transaction, m: StorableMessage): Promise<WriteOutcome> {
    const p = m.payload;
    const samples = m.channel === 'telemetry' ? m.payload.samples.length : 0;
    const inserted = await tx.all(
      `INSERT INTO messages VALUES ($1, $2, $3, $4, $5, epoch_ms($6::BIGINT), epoch_ms($7::BIGINT), $8, $9)
       ON CONFLICT DO NOTHING RETURNING device_id`,
      [m.deviceId, p.boot, p.seq, m.type, m.channel, p.ts, m.receivedAt, p.replay ?? false, samples],
    );
    if (inserted.length === 0) return 'duplicate';
    if (m.channel === 'event') {
      await tx.run(
        `INSERT INTO events VALUES ($1, $2, $3, $4, epoch_ms($5::BIGINT), $6, $7, $8)`,
        [m.deviceId, p.boot, p.seq, m.type, p.ts, p.replay ?? false, m.payload.type, m.payload.detail === undefined ? null : JSON.stringify(m.payload.detail)],
      );
    } else if (m.type === 'ring-node') {
      await insertRows(tx, RING_SPEC, ringRows(m));
    } else {
      await insertRows(tx, SAMPLE_SPECS[m.type], sampleRows(m.type, m));
    }
    return 'stored';
  }

  async close(): Promise<void> {
    // The database is owned by whoever opened it (see openEmbeddedStore); nothing of the writer's own.
  }
}
