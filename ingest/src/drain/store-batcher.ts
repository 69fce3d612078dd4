/**
 * The store batcher: takes what the dispatcher validated (the store queue), in batches (by size and
 * time), stores it, with retries, and reports each message's outcome.
 *
 * One loop: wait for queued messages → take up to `batchSize` (waiting `lingerMs` for a batch to fill;
 * what the queue could not hold is read again from the journal and validated here) → store
 * (pipeline.commitBatch: one write per store; data a store refuses becomes dead letters; state and command
 * acks recorded) → outcomes to the observers (ledger, commands, the state rules) → completeness ledger →
 * persist the ledger together with the journal checkpoint → release the journal. While one batch is being
 * stored, the next is taken: storing runs mostly outside the JavaScript thread (DuckDB's threads, the
 * InfluxDB server). Batches are still stored, and released, strictly in order.
 * A failed write is retried, the same batch, with jittered exponential backoff, while new messages keep
 * arriving in the journal (bounded). Stopping mid-batch is safe: the batch is replayed at the next start.
 */
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { IngestError } from '../errors.js';
import type { RawMessage, ValidatedBatch } from '../dispatch/validate.js';
import type { Journal, JournalReader } from '../journal/journal.js';
import type { CompletenessLedger } from '../ledger/ledger.js';
import type { LedgerStore } from '../storage/duckdb/ledger-store.js';
import type { IngestPipeline } from './pipeline.js';
import type { StoreQueue } from './store-queue.js';

export interface StoreBatcherOptions {
  queue: StoreQueue;
  /** For what the queue could not hold: read again from here. */
  journal: Pick<Journal, 'openReader' | 'closeReader' | 'release'>;
  /** Validates what is read again (the dispatcher's validation). */
  validate: (records: readonly RawMessage[]) => ValidatedBatch;
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
  /** The batcher stopped on an unexpected error (see lastError): messages wait in the journal. */
  halted: boolean;
  /** Messages validated and waiting for the store (the store queue). */
  queued: number;
  /** Messages the queue could not hold since start, read again from the journal and validated here. */
  reread: number;
}

interface Batch {
  batch: ValidatedBatch;
  lastLsn: number;
}

export class StoreBatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  /** Reads again what the queue could not hold; open while such a range is being taken. */
  private reader: JournalReader | undefined;
  private readonly state: Omit<DrainerStatus, 'queued' | 'reread'> = { batches: 0, messages: 0, lastBatchSize: 0, lastBatchMs: 0, failures: 0, lastError: null, failingSince: null, halted: false };

  constructor(private readonly o: StoreBatcherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  status(): DrainerStatus {
    return { ...this.state, queued: this.o.queue.size, reread: this.o.queue.leftInJournal };
  }

  /** Finishes (or abandons, if it keeps failing) the current batch and stops. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    this.o.queue.wake();
    await this.loop;
    if (this.reader) this.o.journal.closeReader(this.reader);
  }

  /** The next batch, validated; undefined when there is none yet (or on stop). */
  private async nextBatch(): Promise<Batch | undefined> {
    const { queue } = this.o;
    const batchSize = this.o.batchSize ?? 1000;
    const linger = this.o.lingerMs ?? 20;
    await this.sleepUntil(queue.waitForData(1000));
    if (!this.running) return undefined;
    if (queue.size < batchSize && linger > 0) await this.sleep(linger);
    if (!this.running) return undefined;
    const taken = queue.take(batchSize);
    if (!taken) return undefined;
    if (taken.kind === 'validated') return { batch: taken.batch, lastLsn: taken.firstLsn + taken.batch.size - 1 };
    return { batch: this.o.validate(await this.readAgain(taken.fromLsn, taken.toLsn)), lastLsn: taken.toLsn };
  }

  /** Journal records `from` … `to`, which the queue could not hold. */
  private async readAgain(from: number, to: number): Promise<RawMessage[]> {
    if (this.reader?.position !== from - 1) {
      if (this.reader) this.o.journal.closeReader(this.reader);
      this.reader = this.o.journal.openReader(from - 1);
    }
    const out: RawMessage[] = [];
    while (out.length < to - from + 1) {
      const records = await this.reader.read(to - from + 1 - out.length, undefined, to);
      if (records.length === 0) throw new IngestError('INGEST_ERR_JOURNAL', `journal records ${from}-${to} could not be read again (${out.length} found)`);
      out.push(...records);
    }
    return out;
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
        if (err instanceof IngestError && err.code === 'INGEST_ERR_STOPPING') break;
        // Unexpected (a bug, or the journal itself failing to read): log and stop; the rest stays journalled.
        this.o.logger.error({ event: 'drain_stopped', err }, 'the store batcher stopped; messages stay in the journal until restart');
        this.state.lastError = (err as Error).message;
        this.state.halted = true;
        break;
      }
    }
    await ahead?.catch(() => undefined);
  }

  private async drain({ batch, lastLsn }: Batch): Promise<void> {
    const started = performance.now();
    // From the third attempt on, look for a poison message that fails every time while the store works.
    const outcomes = await this.retrying('store', (attempt) => this.o.pipeline.commitBatch(batch, { isolatePoison: attempt >= 2 }));
    const { ledger } = this.o;
    outcomes.forEach((o, i) => {
      const ctx = batch.ctxs[i]!;
      if (o.kind === 'stored' || o.kind === 'duplicate') ledger.record(o.deviceId, o.boot, o.seq, ctx.receivedAt, ctx.fromEarlierRun !== true);
    });
    const dirty = ledger.takeDirty();
    try {
      await this.retrying('ledger', () => this.o.ledgerStore.persist(dirty, lastLsn));
    } catch (err) {
      ledger.markDirty(dirty);
      throw err;
    }
    await this.o.journal.release(lastLsn);
    this.state.batches++;
    this.state.messages += batch.size;
    this.state.lastBatchSize = batch.size;
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
        if (!this.running) throw new IngestError('INGEST_ERR_STOPPING', 'the store batcher is stopping');
        const delay = backoffDelay(attempt, this.o.retry);
        this.state.failures++;
        this.state.lastError = (err as Error).message;
        this.state.failingSince ??= Date.now();
        this.o.logger.error({ event: 'store_retry', what, attempt, delayMs: delay, err: (err as Error).message }, `${what} failed; the batch stays in the journal and is retried`);
        await this.sleep(delay);
        if (!this.running) throw new IngestError('INGEST_ERR_STOPPING', 'the store batcher is stopping');
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
