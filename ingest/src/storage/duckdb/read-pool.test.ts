import { afterEach, describe, expect, it } from 'vitest';
import { BusyError } from '../../errors.js';
import { DuckDbDatabase, type SqlReader } from './database.js';
import { DuckDbReadPool } from './read-pool.js';

/** A read that keeps DuckDB busy for a while (about half a second on one thread here). */
const SLOW_READ = 'SELECT sum(hash(i)) AS s FROM range(60000000) t(i)';
const WRITE = `INSERT INTO dead_letters (received_at, topic, device_id, payload, payload_bytes, truncated, reason) VALUES (now(), 't', 'wm-1', 'x', 1, false, 'r')`;

/** Resolves to the order in which `first` (started first) and `second` (started right after) finished. */
async function finishingOrder(first: Promise<unknown>, second: () => Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  const a = first.then(() => order.push('read'), () => order.push('read'));
  await new Promise((r) => setTimeout(r, 20));
  await second().then(() => order.push('write'));
  await a;
  return order;
}

describe('DuckDbReadPool', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  it('a slow API read does not hold up a write on the store connection (it did when both shared one queue)', async () => {
    db = await DuckDbDatabase.open(':memory:', { memoryLimit: '256MB', threads: 1 });
    const pool = new DuckDbReadPool(db, { size: 2, timeoutMs: 60_000 });
    // The old way: the read queued on the store's own connection, and the write waited behind it.
    expect(await finishingOrder(db.all(SLOW_READ), () => db!.run(WRITE))).toEqual(['read', 'write']);
    // Through the pool: the write is done while the read still runs.
    expect(await finishingOrder(pool.all(SLOW_READ), () => db!.run(WRITE))).toEqual(['write', 'read']);
    const [row] = await pool.all('SELECT count(*)::INTEGER AS n FROM dead_letters');
    expect(row!.n).toBe(2);
    // DUCKDB_MEMORY_LIMIT and DUCKDB_THREADS reach DuckDB.
    expect(await pool.all(`SELECT current_setting('memory_limit') AS memory, current_setting('threads')::INTEGER AS threads`)).toEqual([{ memory: expect.stringMatching(/^(244|256)\.\d+ MiB$/), threads: 1 }]);
    // The allocator gives freed memory back (database.ts ALLOCATOR_SETTINGS).
    expect(await pool.all(`SELECT current_setting('allocator_background_threads') AS background, current_setting('allocator_flush_threshold') AS flush`)).toEqual([{ background: true, flush: expect.stringMatching(/^(30|32)\.\d+ MiB$/) }]);
    pool.close();
    expect(db.readersOpen).toBe(0);
  });

  it('bounds each read in time (interrupted: busy, retry later) and the reads that may wait; connections are reused', async () => {
    db = await DuckDbDatabase.open(':memory:', { memoryLimit: '256MB', threads: 1 });
    const pool = new DuckDbReadPool(db, { size: 1, timeoutMs: 100, maxWaiting: 1 });
    const slow = pool.all('SELECT sum(hash(i)) FROM range(10000000000) t(i)');
    const waiting = pool.all('SELECT 1 AS one');
    const refused = pool.all('SELECT 2 AS two');
    await expect(refused).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY', retryAfterSec: 2 });
    const err = await slow.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusyError);
    expect((err as BusyError).message).toMatch(/ran longer than 100 ms and was stopped/);
    expect(await waiting).toEqual([{ one: 1 }]);
    expect(pool.stats()).toEqual({ size: 1, open: 1, busy: 0, waiting: 0, statements: 0 });
    expect(db.readersOpen).toBe(1);
    pool.close();
    expect(db.readersOpen).toBe(0);
  });
  it('reads in one snapshot: a write committed between them is not seen; each read bounded on its own; an interrupted one leaves the connection clean', async () => {
    db = await DuckDbDatabase.open(':memory:', { memoryLimit: '256MB', threads: 1 });
    const pool = new DuckDbReadPool(db, { size: 1, timeoutMs: 1000 });
    const count = async (q: SqlReader) => Number((await q.all('SELECT count(*) AS n FROM dead_letters'))[0]!.n);
    const seen = await pool.snapshot(async (q) => {
      const first = await count(q);
      await db!.run(WRITE);
      return [first, await count(q), await count(db!)];
    });
    expect(seen).toEqual([0, 0, 1]);
    expect(await count(pool)).toBe(1);
    // 1.2 s in all, each read well within 1 s of its start: not stopped.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    expect(await pool.snapshot(async (q) => (await q.all('SELECT 1 AS one'), await sleep(950), await q.all('SELECT sum(hash(i)) > 0 AS ok FROM range(30000000) t(i)')))).toEqual([{ ok: true }]);
    const err = await pool.snapshot((q) => q.all('SELECT sum(hash(i)) FROM range(10000000000) t(i)')).catch((e: unknown) => e);
    expect((err as BusyError).message).toMatch(/ran longer than 1000 ms and was stopped/);
    // The same connection, out of the transaction the stopped read was in: it sees the store as it is now.
    await db.run(WRITE);
    expect(await pool.snapshot(count)).toBe(2);
    expect(db.readersOpen).toBe(1);
    await pool.close();
  });

  it('keeps a read with parameters prepared: it sees every write, a changed table, an interrupt; a bounded number per connection', async () => {
    db = await DuckDbDatabase.open(':memory:', { memoryLimit: '256MB', threads: 1 });
    const pool = new DuckDbReadPool(db, { size: 1, timeoutMs: 300, statementsKept: 2 });
    await db.run('CREATE TABLE meters (id VARCHAR PRIMARY KEY, liters BIGINT)');
    await db.run("INSERT INTO meters VALUES ('wm-1', 10), ('wm-2', 20)");
    const byId = 'SELECT * FROM meters WHERE id = $1';
    expect(await pool.all(byId, ['wm-1'])).toEqual([{ id: 'wm-1', liters: '10' }]);
    expect(await pool.all(byId, ['wm-2'])).toEqual([{ id: 'wm-2', liters: '20' }]);
    expect(pool.stats().statements).toBe(1);
    // A write on the store's connection, then the same statement again: the new value.
    await db.run("UPDATE meters SET liters = 11 WHERE id = 'wm-1'");
    expect(await pool.all(byId, ['wm-1'])).toEqual([{ id: 'wm-1', liters: '11' }]);
    // The table changed under the kept statement (a store upgraded while running): the new shape.
    await db.run('ALTER TABLE meters ADD COLUMN dma VARCHAR');
    await db.run("UPDATE meters SET dma = 'dma-7'");
    expect(await pool.all(byId, ['wm-1'])).toEqual([{ id: 'wm-1', liters: '11', dma: 'dma-7' }]);
    // Dropped and made again (a migration's swap): the new table, without preparing anew by hand.
    await db.run('CREATE TABLE meters_new AS SELECT id, liters + 100 AS liters FROM meters');
    await db.run('DROP TABLE meters');
    await db.run('ALTER TABLE meters_new RENAME TO meters');
    expect(await pool.all(byId, ['wm-1'])).toEqual([{ id: 'wm-1', liters: '111' }]);
    await db.run("ALTER TABLE meters ADD COLUMN dma VARCHAR DEFAULT 'dma-7'");
    await db.run("UPDATE meters SET liters = liters - 100");
    // Interrupted past the read timeout: busy; the same statement then answers.
    const slowSql = 'SELECT count(*) AS n FROM range(10000000000) t(i) WHERE hash(i) = $1';
    await expect(pool.all(slowSql, [1])).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY' });
    expect(await pool.all('SELECT count(*)::INTEGER AS n FROM range(10) t(i) WHERE i < $1', [3])).toEqual([{ n: 3 }]);
    // At most 2 kept: older ones are destroyed, and prepared again when asked.
    expect(await pool.all('SELECT $1::INTEGER + 1 AS x', [1])).toEqual([{ x: 2 }]);
    expect(pool.stats().statements).toBe(2);
    expect(await pool.all(byId, ['wm-2'])).toEqual([{ id: 'wm-2', liters: '20', dma: 'dma-7' }]);
    expect(pool.stats().statements).toBe(2);
    // A bad parameter fails that read only.
    await expect(pool.all(byId, [])).rejects.toThrow();
    expect(await pool.all(byId, ['wm-1'])).toEqual([{ id: 'wm-1', liters: '11', dma: 'dma-7' }]);
    await pool.close();
    expect(pool.stats().statements).toBe(0);
    expect(db.readersOpen).toBe(0);
  });

  it('closing stops a running read and closes its connection only once the read has stopped', async () => {
    db = await DuckDbDatabase.open(':memory:', { memoryLimit: '256MB', threads: 1 });
    const pool = new DuckDbReadPool(db, { size: 2, timeoutMs: 60_000 });
    const slow = pool.all('SELECT sum(hash(i)) FROM range(10000000000) t(i)');
    await pool.all('SELECT 1 AS one'); // a second connection, idle once answered
    const settled = slow.then(() => 'answered', (err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.stats()).toMatchObject({ open: 2, busy: 1 });
    const t0 = performance.now();
    await pool.close();
    // Interrupted, not waited out (the read would take minutes), and answered as busy, not as a failure.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(await settled).toMatchObject({ code: 'INGEST_ERR_BUSY', message: 'the store is closing' });
    expect(db.readersOpen).toBe(0);
    await expect(pool.all('SELECT 1')).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY' });
  });
});
