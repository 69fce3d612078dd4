import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBDataChunk, DuckDBInstance, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { IngestError } from '../../errors.js';
import type { DuckDbSettings } from './duckdb-config.js';
import { SCHEMA_DDL } from './schema.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export type Params = DuckDBValue[];
export type ParamTypes = Record<string, DuckDBType>;
export type Row = Record<string, unknown>;

/** What a read-only caller needs: DuckDbDatabase (its own queue) and DuckDbReadPool both are one. */
export interface SqlReader {
  all(sql: string, params?: Params, types?: ParamTypes): Promise<Row[]>;
}

/** A reader that can run several reads in one snapshot: each sees the store as the first one did. */
export interface SnapshotReader extends SqlReader {
  snapshot<T>(fn: (q: SqlReader) => Promise<T>): Promise<T>;
}

export const canSnapshot = (db: SqlReader): db is SnapshotReader => typeof (db as Partial<SnapshotReader>).snapshot === 'function';

/**
 * `sql`'s rows, each read from DuckDB as one JSON text, for the API's hottest reads of a few rows of many
 * columns (a device's latest values and status). The driver wraps every column of a result in objects
 * with native finalizers (vector, type, data, validity): device detail made ~60 of them per request, and
 * on the bench's 30-day store the young-generation collections that ran their finalizers were the slowest
 * answers (20-30 ms). One column of text makes four. The values are as JSON gives them: numbers
 * (BIGINT included, exact to 2^53), booleans, text, lists; not for times or decimals (text in JSON).
 */
export async function rowsAsJson(db: SqlReader, sql: string, params?: Params, types?: ParamTypes): Promise<Row[]> {
  const rows = await db.all(`SELECT to_json(r)::VARCHAR AS r FROM (${sql}) r`, params, types);
  return rows.map((x) => JSON.parse(x.r as string) as Row);
}

/**
 * Runs `fn`'s reads on `connection` inside one transaction, so they share its snapshot; `each` before each
 * of them. Ended by ROLLBACK: it only read, and a read interrupted inside it (a client gone, a timeout)
 * leaves a transaction COMMIT refuses.
 */
export async function inSnapshot<T>(connection: DuckDBConnection, fn: (q: SqlReader) => Promise<T>, each?: () => void): Promise<T> {
  await connection.run('BEGIN TRANSACTION');
  try {
    return await fn({
      all: async (sql, params, types) => {
        each?.();
        return (await connection.runAndReadAll(sql, params, types)).getRowObjectsJson() as Row[];
      },
    });
  } finally {
    await connection.run('ROLLBACK').catch(() => undefined);
  }
}

/**
 * One DuckDB database file with a single connection. Every operation goes through a FIFO queue, so a
 * transaction is never interleaved with another caller's statements (DuckDB connections are not
 * safe for concurrent transactions).
 */
/**
 * Planner settings of every connection. ASOF joins always as ASOF joins: on a small estimate DuckDB plans
 * them as nested loops, and the water figures' registers (one ASOF join of a DMA's meters and moments
 * against their readings, ingest/src/water/registers.ts) took 5–8 s that way instead of 0.5 s.
 */
const PLANNER_SETTINGS: Record<string, string> = { asof_loop_join_threshold: '0' };

/**
 * DuckDB's allocator (its own jemalloc) hands memory freed by a query back to the system: a background
 * thread purges freed pages, and a task that peaked past 32 MB (DuckDB's default: 128 MB) flushes its
 * thread's cache when done. Without them the pages of the water reads stayed in the process: on the
 * bench's 30-day store of 130,000 meters ~0.55 GB of RSS outside V8's heap after the history questions,
 * ~0.42 GB with them (issue 15: the ingest within 1 GiB).
 */
const ALLOCATOR_SETTINGS: Record<string, string> = { allocator_background_threads: 'true', allocator_flush_threshold: '32MB' };

export class DuckDbDatabase {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Connections lent out by withReader(), interrupted and closed by close(). */
  private readonly readers = new Set<DuckDBConnection>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly path: string,
    /** False for a fork(): it owns its connection, not the database. */
    private readonly ownsInstance = true,
  ) {}

  /**
   * The same database through a connection and queue of its own. DuckDB runs transactions of different
   * connections concurrently (MVCC), so work on other tables no longer waits behind this queue: the alert
   * engine's saves used to wait behind the drainer's batch transactions, seconds under a city-wide burst.
   * Close the fork before the database.
   */
  async fork(): Promise<DuckDbDatabase> {
    if (this.closed) throw new IngestError('INGEST_ERR_STORAGE', 'the embedded store is closed', { canRetry: false });
    return new DuckDbDatabase(this.instance, await this.instance.connect(), this.path, false);
  }

  /**
   * Opens (creating if needed) `${dataDir}/tsunagaru.duckdb`; `:memory:` for an in-memory database.
   * `limits`: DuckDB's memory_limit and threads (duckdb-config.ts); DuckDB's own defaults without them.
   */
  static async open(dataDir: string | ':memory:', limits?: Pick<DuckDbSettings, 'memoryLimit' | 'threads'>): Promise<DuckDbDatabase> {
    let path = ':memory:';
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true });
      path = join(dataDir, 'tsunagaru.duckdb');
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { ...PLANNER_SETTINGS, ...ALLOCATOR_SETTINGS, ...(limits ? { memory_limit: limits.memoryLimit, threads: String(limits.threads) } : {}) });
    } catch (err) {
      const message = (err as Error).message;
      const hint = /lock/i.test(message) ? ' (another Tsunagaru ingest may be using this DATA_DIR; stop it or choose another DATA_DIR)' : '';
      throw new IngestError('INGEST_ERR_STORAGE', `cannot open the embedded store at ${path}: ${message}${hint}`, { canRetry: false, cause: err });
    }
    const db = new DuckDbDatabase(instance, await instance.connect(), path);
    for (const ddl of SCHEMA_DDL) await db.run(ddl);
    return db;
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new IngestError('INGEST_ERR_STORAGE', 'the embedded store is closed', { canRetry: false }));
    const next = this.tail.then(op, op);
    // The queue's tail keeps no result: `next.catch(…)` resolved to the last answer and held it until the
    // next statement, 200 MB of JavaScript for the 130,000 device statuses read at start.
    this.tail = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  run(sql: string, params?: Params, types?: ParamTypes): Promise<void> {
    return this.enqueue(async () => {
      await this.connection.run(sql, params, types);
    });
  }

  all(sql: string, params?: Params, types?: ParamTypes): Promise<Row[]> {
    return this.enqueue(async () => (await this.connection.runAndReadAll(sql, params, types)).getRowObjectsJson() as Row[]);
  }

  /**
   * What all() reads, by column (`{ column: values }`), for large reads: the driver builds an object per
   * row with every column as a key, and 130,000 open alerts of 26 columns took ~2.4 s of a start that way,
   * ~1.4 s by column.
   */
  columns(sql: string, params?: Params, types?: ParamTypes): Promise<Record<string, unknown[]>> {
    return this.enqueue(async () => (await this.connection.runAndReadAll(sql, params, types)).getColumnsObjectJson() as Record<string, unknown[]>);
  }

  /** Reads in one snapshot (SnapshotReader): a transaction of this connection's queue. */
  snapshot<T>(fn: (q: SqlReader) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx));
  }

  /** Runs `fn` inside BEGIN/COMMIT; on any error it rolls back, so nothing is half-applied. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      const c = this.connection;
      await c.run('BEGIN TRANSACTION');
      try {
        const result = await fn({
          run: async (sql, params, types) => {
            await c.run(sql, params, types);
          },
          all: async (sql, params, types) => (await c.runAndReadAll(sql, params, types)).getRowObjectsJson() as Row[],
          append: (table, types, columns, where) => appendColumns(c, table, types, columns, where),
        });
        await c.run('COMMIT');
        return result;
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Runs `fn` on a connection of its own (closed afterwards), for long reads such as exports: they do
   * not wait in, or hold up, the queue of this connection, and DuckDB gives them their own snapshot.
   */
  async withReader<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const reader = await this.openReader();
    try {
      return await fn(reader);
    } finally {
      this.closeReader(reader);
    }
  }

  /** A connection of its own (read-pool.ts keeps a few); close it with closeReader, or close() does. */
  async openReader(): Promise<DuckDBConnection> {
    if (this.closed) throw new IngestError('INGEST_ERR_STORAGE', 'the embedded store is closed', { canRetry: false });
    const reader = await this.instance.connect();
    this.readers.add(reader);
    return reader;
  }

  closeReader(reader: DuckDBConnection): void {
    if (this.readers.delete(reader)) reader.closeSync();
  }

  /** Reader connections open now (withReader and read pools): health shows it, tests check nothing leaks. */
  get readersOpen(): number {
    return this.readers.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.ownsInstance) {
      await this.enqueue(async () => undefined);
      this.closed = true;
      this.connection.closeSync();
      return;
    }
    // Reads still running (a DMA's month, the city's nights) are stopped first: the checkpoint below
    // would otherwise wait for them, past a container's stop grace.
    for (const reader of this.readers) reader.interrupt();
    await this.enqueue(async () => {
      // A checkpoint folds the WAL into the database file, so the next open is quick.
      await this.connection.run('CHECKPOINT').catch(() => undefined);
    });
    this.closed = true;
    for (const reader of this.readers) {
      reader.interrupt();
      reader.closeSync();
    }
    this.readers.clear();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export interface Transaction {
  run(sql: string, params?: Params, types?: ParamTypes): Promise<void>;
  all(sql: string, params?: Params, types?: ParamTypes): Promise<Row[]>;
  /**
   * Appends rows given column by column (every column of the table, in table order, types exactly the
   * table's). Inside the transaction: a rollback drops them too.
   */
  append(table: string, types: readonly DuckDBType[], columns: ReadonlyArray<readonly DuckDBValue[]>, where?: AppendTarget): Promise<void>;
}

/** Where an appended table lives when not in the main schema: a TEMP table is `{ catalog: 'temp' }`. */
export interface AppendTarget {
  schema?: string;
  catalog?: string;
}

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/**
 * Bulk insert through DuckDB's appender, one data chunk of up to 2,048 rows at a time. Numbers go into
 * typed arrays copied to DuckDB in one call per column, instead of one bound value per cell: measured
 * about 10× faster than INSERT … SELECT unnest(list parameters) for sample rows (npm run bench:ingest).
 * The appender writes within the connection's open transaction, so atomicity is unchanged.
 */
async function appendColumns(c: DuckDBConnection, table: string, types: readonly DuckDBType[], columns: ReadonlyArray<readonly DuckDBValue[]>, where: AppendTarget = {}): Promise<void> {
  const rows = columns[0]?.length ?? 0;
  if (rows === 0) return;
  const appender = await c.createAppender(table, where.schema ?? null, where.catalog ?? null);
  try {
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      // A large append (130,000 alerts staged at once) leaves the event loop free between a few chunks.
      if (start > 0 && start % (CHUNK_ROWS * 4) === 0) await nextTurn();
      const n = Math.min(CHUNK_ROWS, rows - start);
      const chunk = DuckDBDataChunk.create(types, n);
      columns.forEach((values, i) => chunk.setColumnValues(i, start === 0 && n === rows ? values : values.slice(start, start + n)));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** DuckDB's JSON rows carry BIGINT/UBIGINT/TIMESTAMP-as-ms as strings; the contract bounds keep them safe. */
export function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? value : Number(value);
}
