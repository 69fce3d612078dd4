/**
 * "Done" for the ingest-e2e suite is judged in the store, the same way for every system: InfluxDB holds
 * every reading. Counting is InfluxQL `count()` per reading field, polled while the systems work; the
 * polling loop (`waitForCount`) serves the bench's other counts too.
 */
import { influxQl } from '../../test/support/tsdb.js';

/** Readings held: the sum over the reading fields of count(field) in `measurement`. */
export async function countReadings(url: string, db: string, measurement: string, fields: readonly string[]): Promise<number> {
  const q = `SELECT ${fields.map((f) => `count("${f}")`).join(', ')} FROM "${measurement}"`;
  const body = await influxQl(url, q, db);
  const row = body.results?.[0]?.series?.[0]?.values?.[0] as unknown[] | undefined;
  if (!row) return 0;
  // The first column is `time`.
  return row.slice(1).reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);
}

export async function freshDatabase(url: string, db: string): Promise<void> {
  await influxQl(url, `DROP DATABASE "${db}"`);
  await influxQl(url, `CREATE DATABASE "${db}"`);
}

export async function dropDatabase(url: string, db: string): Promise<void> {
  await influxQl(url, `DROP DATABASE "${db}"`);
}

export interface WaitOptions {
  expected: number;
  /** Fail when the count has not grown for this long (a lost write never arrives). */
  stallMs?: number;
  pollMs?: number;
  /** Called between polls; throw to abort (e.g. the system under test died). */
  check?: () => void;
}

/** Polls until the store holds `expected` readings; resolves with the time it was first seen (performance.now()). */
export function waitForReadings(url: string, db: string, measurement: string, fields: readonly string[], o: WaitOptions): Promise<number> {
  return waitForCount(() => countReadings(url, db, measurement, fields), o, (n, s) => `InfluxDB ${db}.${measurement} holds ${n} of ${o.expected} readings and has not grown for ${s} s`);
}

/**
 * The same for a peer whose losses are a figure of the run, not a failure: resolves with when the count
 * was last seen growing and what it reached, also when it stalled short of `expected`.
 */
export async function waitForReadingsOrLoss(url: string, db: string, measurement: string, fields: readonly string[], o: WaitOptions): Promise<{ at: number; count: number }> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    o.check?.();
    const n = await countReadings(url, db, measurement, fields);
    const now = performance.now();
    if (n >= o.expected) return { at: now, count: n };
    if (n !== last) {
      last = n;
      lastChange = now;
    } else if (now - lastChange > (o.stallMs ?? 30_000)) {
      return { at: lastChange, count: n };
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}

/**
 * Polls `read` until it reaches `o.expected`; resolves with the time it was first seen (performance.now()).
 * Fails with `stalled(count, seconds)` when the count has not grown for `o.stallMs` (a lost write never arrives).
 */
export async function waitForCount(read: () => Promise<number>, o: WaitOptions, stalled: (count: number, seconds: number) => string): Promise<number> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    o.check?.();
    const n = await read();
    const now = performance.now();
    if (n >= o.expected) return now;
    if (n !== last) {
      last = n;
      lastChange = now;
    } else if (now - lastChange > (o.stallMs ?? 30_000)) {
      throw new Error(stalled(n, Math.round((now - lastChange) / 1000)));
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}
