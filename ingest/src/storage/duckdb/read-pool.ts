import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { BusyError } from '../../errors.js';
import { inSnapshot, type DuckDbDatabase, type Params, type ParamTypes, type Row, type SnapshotReader, type SqlReader } from './database.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface ReadPoolOptions {
  /** Connections, opened on demand (API_READERS). */
  size: number;
  /** A read running longer is interrupted and answered busy (API_READ_TIMEOUT_MS). */
  timeoutMs: number;
  /** Reads allowed to wait for a connection; more are refused at once. Default 64 per connection. */
  maxWaiting?: number;
  /** Statements with parameters kept prepared per connection (see all()). Default 32; 0 prepares every read. */
  statementsKept?: number;
}

export interface ReadPoolStats {
  size: number;
  open: number;
  busy: number;
  waiting: number;
  /** Statements kept prepared, over all connections (see all()). */
  statements: number;
}

/**
 * A few DuckDB connections for the API's short reads, apart from the connection the drainer writes on:
 * DuckDB runs different connections' queries concurrently (MVCC), so six slow device reads no longer queue
 * in front of a batch (they delayed it by 11 s on one shared connection). Bounded every way: connections,
 * waiting reads (then 503), and each read's time (interrupted, then 503).
 */
export class DuckDbReadPool implements SnapshotReader {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: Array<{ resolve(c: DuckDBConnection): void; reject(err: Error): void }> = [];
  private opened = 0;
  private closed = false;
  /** Connections running a read, with the read: close() interrupts them and waits for them (see close). */
  private readonly running = new Map<DuckDBConnection, Promise<unknown>>();
  private readonly maxWaiting: number;
  private readonly statementsKept: number;
  /** Per connection, its prepared statements by SQL text, oldest first (closing a connection destroys them). */
  private readonly prepared = new Map<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

  constructor(
    private readonly db: DuckDbDatabase,
    private readonly options: ReadPoolOptions,
  ) {
    this.maxWaiting = options.maxWaiting ?? 64 * options.size;
    this.statementsKept = options.statementsKept ?? 32;
  }

  /**
   * A read with parameters runs a statement this connection has kept prepared for its SQL text: the
   * driver otherwise parses, plans and destroys it every time, three hand-offs to DuckDB's threads where
   * one does. Device detail is two such reads (history/latest.ts readLatest, the status); kept, its p50
   * went from ~7 to ~5 ms at 30 days of 130,000 meters. Reads without parameters (their values written
   * into the text) run as they are, one hand-off already.
   */
  all(sql: string, params?: Params, types?: ParamTypes): Promise<Row[]> {
    if (!params || this.statementsKept === 0) return this.lend(async (connection) => (await connection.runAndReadAll(sql, params, types)).getRowObjectsJson() as Row[]);
    return this.lend(async (connection) => {
      const statement = await this.statement(connection, sql);
      try {
        // Cleared first: a kept statement otherwise keeps the last read's values for any not given now.
        statement.clearBindings();
        statement.bind(params, types);
        return (await statement.runAndReadAll()).getRowObjectsJson() as Row[];
      } catch (err) {
        // Whatever went wrong (a table changed under it, an interrupt), the next read prepares it afresh.
        this.prepared.get(connection)?.delete(sql);
        statement.destroySync();
        throw err;
      }
    });
  }

  private async statement(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
    let kept = this.prepared.get(connection);
    if (!kept) this.prepared.set(connection, (kept = new Map()));
    const found = kept.get(sql);
    if (found) {
      kept.delete(sql);
      kept.set(sql, found);
      return found;
    }
    const statement = await connection.prepare(sql);
    kept.set(sql, statement);
    if (kept.size > this.statementsKept) {
      const [oldestSql, oldest] = kept.entries().next().value!;
      kept.delete(oldestSql);
      oldest.destroySync();
    }
    return statement;
  }

  /**
   * Reads in one snapshot, on one connection inside one transaction, each bounded as a read of its own
   * (API_READ_TIMEOUT_MS): a read of raw rows and the parts list it is planned from agree (archive.ts asSeenBy).
   */
  snapshot<T>(fn: (q: SqlReader) => Promise<T>): Promise<T> {
    return this.lend((connection, restart) => inSnapshot(connection, fn, restart));
  }

  /**
   * Runs `read` on a connection of the pool, interrupted past the read timeout; `restart` starts the
   * timeout again (a snapshot's next statement).
   */
  private async lend<T>(read: (connection: DuckDBConnection, restart: () => void) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    let timedOut = false;
    const stop = () => {
      timedOut = true;
      connection.interrupt();
    };
    let timer = setTimeout(stop, this.options.timeoutMs);
    const restart = () => {
      clearTimeout(timer);
      timer = setTimeout(stop, this.options.timeoutMs);
    };
    try {
      const running = read(connection, restart);
      this.running.set(connection, running);
      return await running;
    } catch (err) {
      if (this.closed) throw new BusyError('INGEST_ERR_BUSY', 'the store is closing', 5);
      if (timedOut) throw new BusyError('INGEST_ERR_BUSY', `the read ran longer than ${this.options.timeoutMs} ms and was stopped; ask for a shorter time range or fewer rows`, 5);
      throw err;
    } finally {
      clearTimeout(timer);
      this.running.delete(connection);
      this.release(connection);
    }
  }

  stats(): ReadPoolStats {
    let statements = 0;
    for (const kept of this.prepared.values()) statements += kept.size;
    return { size: this.options.size, open: this.opened, busy: this.opened - this.idle.length, waiting: this.waiting.length, statements };
  }

  /**
   * Closes idle connections, refuses waiting reads, interrupts running ones and resolves once they have
   * stopped and their connections are closed. A connection must not be closed while its read runs: DuckDB
   * then destroys the connection on the read's own thread when the read ends, which deadlocks on the
   * connection's lock, and node's exit waits for that thread forever (npm start hung after "stopped
   * cleanly" when its stop interrupted the alert engine's background water read; gdb: ~ClientContext in
   * duckdb_execute_prepared waiting on LockContext, the main thread in uv_thread_join).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) {
      this.prepared.delete(c);
      this.db.closeReader(c);
    }
    for (const w of this.waiting.splice(0)) w.reject(new BusyError('INGEST_ERR_BUSY', 'the store is closing', 5));
    const running = [...this.running];
    for (const [connection] of running) connection.interrupt();
    await Promise.allSettled(running.map(([, read]) => read));
    // Each read's own finally (queued before this) has closed its connection (release); one more turn for safety.
    await nextTurn();
  }

  private async acquire(): Promise<DuckDBConnection> {
    if (this.closed) throw new BusyError('INGEST_ERR_BUSY', 'the store is closing', 5);
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.opened < this.options.size) {
      this.opened++;
      try {
        return await this.db.openReader();
      } catch (err) {
        this.opened--;
        throw err;
      }
    }
    if (this.waiting.length >= this.maxWaiting) throw new BusyError('INGEST_ERR_BUSY', `${this.waiting.length} reads are already waiting for the store; try again shortly`, 2);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(connection: DuckDBConnection): void {
    if (this.closed) {
      this.opened--;
      this.prepared.delete(connection);
      this.db.closeReader(connection);
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(connection);
    else this.idle.push(connection);
  }
}
