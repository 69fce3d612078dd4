/**
 * What the dispatcher has validated and the store has not taken yet, in journal order.
 *
 * Bounded: past `maxMessages` (or `maxPayloadBytes` of payload) the dispatcher goes on reading and
 * validating for the alert rules, which never wait for the store, but keeps only the LSN range of what it
 * could not hold; the store batcher reads that range from the journal again and validates it itself. So
 * memory stays bounded however far the store falls behind (an outage, a city-wide burst), and while the
 * store keeps up every message is validated once.
 */
import { joinBatches, sliceBatch, type ValidatedBatch } from '../dispatch/validate.js';
import { wakeOrTimeout } from '../sleeper.js';

/** Default bounds: the validated messages of about 50 batches, at most 32 MiB of payloads. */
export const STORE_QUEUE_DEFAULTS = { maxMessages: 50_000, maxPayloadBytes: 32 * 1024 * 1024 };

/** Validated journal records `firstLsn` … `firstLsn + batch.size - 1` (journal LSNs have no gaps). */
export interface ValidatedRecords {
  kind: 'validated';
  firstLsn: number;
  batch: ValidatedBatch;
}

/** Records `fromLsn` … `toLsn`, durable in the journal, that the store batcher must read and validate. */
export interface LeftInJournal {
  kind: 'journal';
  fromLsn: number;
  toLsn: number;
}

export type QueuedRecords = ValidatedRecords | LeftInJournal;

const payloadBytes = (b: ValidatedBatch) => b.ctxs.reduce((n, c) => n + c.payload.byteLength, 0);

export class StoreQueue {
  private readonly entries: QueuedRecords[] = [];
  private head = 0;
  private held = 0;
  private heldBytes = 0;
  private waiting = 0;
  private left = 0;
  private wakers: Array<() => void> = [];
  private readonly max: typeof STORE_QUEUE_DEFAULTS;

  constructor(bounds: Partial<typeof STORE_QUEUE_DEFAULTS> = {}) {
    this.max = { ...STORE_QUEUE_DEFAULTS, ...bounds };
  }

  /** Messages waiting for the store: validated here, or left in the journal. */
  get size(): number {
    return this.waiting;
  }

  /** Messages the queue could not hold since start (read again from the journal by the store batcher). */
  get leftInJournal(): number {
    return this.left;
  }

  /** Adds the next records in journal order: kept validated when there is room, else as a range to read again. */
  push(firstLsn: number, batch: ValidatedBatch): void {
    if (batch.size === 0) return;
    const bytes = payloadBytes(batch);
    const room = this.held + batch.size <= this.max.maxMessages && this.heldBytes + bytes <= this.max.maxPayloadBytes;
    const last = this.entries.at(-1);
    if (room) {
      this.entries.push({ kind: 'validated', firstLsn, batch });
      this.held += batch.size;
      this.heldBytes += bytes;
    } else if (last?.kind === 'journal' && this.entries.length > this.head && last.toLsn === firstLsn - 1) {
      last.toLsn += batch.size;
      this.left += batch.size;
    } else {
      this.entries.push({ kind: 'journal', fromLsn: firstLsn, toLsn: firstLsn + batch.size - 1 });
      this.left += batch.size;
    }
    this.waiting += batch.size;
    const w = this.wakers;
    this.wakers = [];
    for (const wake of w) wake();
  }

  /** Resolves when something is queued, or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    if (this.waiting > 0) return Promise.resolve();
    return wakeOrTimeout(timeoutMs, (wake) => this.wakers.push(wake));
  }

  /** Wakes whoever waits (at stop). */
  wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const wake of w) wake();
  }

  /**
   * Takes up to `max` messages from the front, all of one kind: validated records (several entries joined,
   * the last one split if need be), or one range left in the journal (split likewise).
   */
  take(max: number): QueuedRecords | undefined {
    const first = this.entries[this.head];
    if (!first) return undefined;
    if (first.kind === 'journal') {
      const toLsn = Math.min(first.toLsn, first.fromLsn + max - 1);
      const taken: LeftInJournal = { kind: 'journal', fromLsn: first.fromLsn, toLsn };
      if (toLsn === first.toLsn) this.advance();
      else first.fromLsn = toLsn + 1;
      this.waiting -= toLsn - taken.fromLsn + 1;
      return taken;
    }
    const firstLsn = first.firstLsn;
    const parts: ValidatedBatch[] = [];
    let n = 0;
    for (let e = this.entries[this.head]; e?.kind === 'validated' && n < max; e = this.entries[this.head]) {
      const want = max - n;
      const part = e.batch.size <= want ? e.batch : sliceBatch(e.batch, 0, want);
      if (part === e.batch) this.advance();
      else {
        e.batch = sliceBatch(e.batch, want);
        e.firstLsn += want;
      }
      parts.push(part);
      n += part.size;
      this.held -= part.size;
      this.heldBytes -= payloadBytes(part);
    }
    this.waiting -= n;
    return { kind: 'validated', firstLsn, batch: joinBatches(parts) };
  }

  private advance(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}
