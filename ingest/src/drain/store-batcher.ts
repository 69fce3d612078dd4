/**
 * Moves messages from the journal into storage, in batches (by size and time), with retries.
 *
 * One loop: wait for durable records → read up to `batchSize` (waiting `lingerMs` for a batch to fill) →
 * validate (pipeline.prepareBatch) → store (pipeline.commitBatch: one write per store; data a store
 * refuses becomes dead letters) → completeness ledger → persist the ledger together with the journal
 * checkpoint → release the journal. While one batch is being stored, the next is read and validated:
 * storing runs mostly outside the JavaScript thread (DuckDB's threads, the InfluxDB server), validation
 * inside it, so the two overlap. Batches are still stored, and released, strictly in order.
 * A failed write is retried, the same batch, with jittered exponential backoff, while new messages keep
 * arriving in the journal (bounded). Stopping mid-batch is safe: the batch is replayed at the next start.
 */
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import type { Journal, ReadRecord } from '../journal/journal.js';
import type { CompletenessLedger } from '../ledger/ledger.js';
import type { LedgerStore } from '../storage/duckdb/ledger-store.js';
import type { IngestPipeline, PreparedBatch } from './index.js';

export interface DrainerOptions {
  journal: Journal;
  pipeline: IngestPipeline;
  ledger: CompletenessLedger;
  ledgerStore: LedgerStore;
  logger: Logger;
  /** Messages per batch. Default 1,000. */
  batchSize?: number;
  /** How long a batch may wait to fill, ms. Default 20. */
  lingerMs?: number;
  retry?: BackoffOptions;
}

export interface DrainerStatus {
  batches: number;
  messages: number;
  lastBatchSize: number;
  lastBatchMs: number;
  /** Consecutive failed attempts at the current batch (0 when healthy). */
  failures: number;
  lastError: string | null;
  /** Epoch ms since when storing has been failing, or null. */
  failingSince: number | null;
  /** The drainer stopped on an unexpected error (see lastError): messages wait in the journal. */
  halted: boolean;
}

class Stopped extends Error {}

interface Batch {
  records: ReadRecord[];
  prepared: PreparedBatch;
}

export class JournalDrainer {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly state: DrainerStatus = { batches: 0, messages: 0, lastBatchSize: 0, lastBatchMs: 0, failures: 0, lastError: null, failingSince: null, halted: false };

  constructor(private readonly o: DrainerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  status(): DrainerStatus {
    return { ...this.state };
  }

  /** Finishes (or abandons, if it keeps failing) the current batch and stops. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    await this.loop;
  }

  /** The next batch, read and validated; undefined when there is none yet (or on stop). */
  private async nextBatch(): Promise<Batch | undefined> {
    const { journal } = this.o;
    const batchSize = this.o.batchSize ?? 1000;
    const linger = this.o.lingerMs ?? 20;
    await this.sleepUntil(journal.waitForData(1000));
    if (!this.running) return undefined;
    if (journal.stats().backlog < batchSize && linger > 0) await this.sleep(linger);
    if (!this.running) return undefined;
    const records = await journal.read(batchSize);
    if (records.length === 0) return undefined;
    return { records, prepared: await this.o.pipeline.prepareBatch(records) };
  }

  private async run(): Promise<void> {
    let ahead: Promise<Batch | undefined> | undefined;
    while (this.running) {
      try {
        const batch = await (ahead ?? this.nextBatch());
        ahead = undefined;
        if (!batch) continue;
        const storing = this.drain(batch);
        // One batch ahead at most. Left unstored at stop, it is not lost: it was not released, so the
        // journal replays it at the next start.
        ahead = this.nextBatch();
        ahead.catch(() => undefined); // handled when awaited above; never an unhandled rejection meanwhile
        await storing;
      } catch (err) {
        if (err instanceof Stopped) break;
        // Unexpected (a bug, or the journal itself failing to read): log and stop; the rest stays journalled.
        this.o.logger.error({ event: 'drain_stopped', err }, 'the journal drainer stopped; messages stay in the journal until restart');
        this.state.lastError = (err as Error).message;
        this.state.halted = true;
        break;
      }
    }
    await ahead?.catch(() => undefined);
  }

  private async drain({ records, prepared }: Batch): Promise<void> {
    const started = performance.now();
    // From the third attempt on, look for a poison message that fails every time while the store works.
    const outcomes = await this.retrying('store', (attempt) => this.o.pipeline.commitBatch(prepared, { isolatePoison: attempt >= 2 }));
    const { ledger } = this.o;
    outcomes.forEach((o, i) => {
      if (o.kind === 'stored' || o.kind === 'duplicate') ledger.record(o.deviceId, o.boot, o.seq, records[i]!.receivedAt, !records[i]!.replayed);
    });
    const dirty = ledger.takeDirty();
    const lastLsn = records.at(-1)!.lsn;
    try {
      await this.retrying('ledger', () => this.o.ledgerStore.persist(dirty, lastLsn));
    } catch (err) {
      ledger.markDirty(dirty);
      throw err;
    }
    await this.o.journal.release(lastLsn);
    this.state.batches++;
    this.state.messages += records.length;
    this.state.lastBatchSize = records.length;
    this.state.lastBatchMs = Math.round(performance.now() - started);
  }

  private async retrying<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await op(attempt);
        if (this.state.failures > 0) this.o.logger.warn({ event: 'store_recovered', what, attempts: attempt + 1 }, `${what} works again`);
        this.state.failures = 0;
        this.state.failingSince = null;
        return result;
      } catch (err) {
        if (!this.running) throw new Stopped();
        const delay = backoffDelay(attempt, this.o.retry);
        this.state.failures++;
        this.state.lastError = (err as Error).message;
        this.state.failingSince ??= Date.now();
        this.o.logger.error({ event: 'store_retry', what, attempt, delayMs: delay, err: (err as Error).message }, `${what} failed; the batch stays in the journal and is retried`);
        await this.sleep(delay);
        if (!this.running) throw new Stopped();
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return this.sleepUntil(new Promise((r) => (timer = setTimeout(r, ms)))).finally(() => clearTimeout(timer));
  }

  /** Waits for `p`, or for stop(). */
  private sleepUntil(p: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.wakers.delete(done);
        resolve();
      };
      this.wakers.add(done);
      void p.then(done);
    });
  }
}
