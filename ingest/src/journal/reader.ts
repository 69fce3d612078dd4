/**
 * A read position in the journal: durable records after it, in LSN order. The journal has a main reader
 * (the dispatcher's, from the last released LSN on) and hands out more on request (the store batcher reads
 * again what the dispatcher could not keep for it, see drain/store-queue.ts); each keeps its own place.
 */
import type { FileHandle } from 'node:fs/promises';
import { IngestError } from '../errors.js';
import { wakeOrTimeout } from '../sleeper.js';
import type { JournalRecord } from './record.js';
import { readRecords, type Segment } from './segments.js';

export interface ReadRecord extends JournalRecord {
  /** Written before this process opened the journal: replayed after a restart or crash. */
  replayed: boolean;
}

/** What a reader needs of the journal. */
export interface ReadableLog {
  segments(): readonly Segment[];
  durableLsn(): number;
  /** First LSN written by this process; lower ones are replays. */
  startLsn(): number;
  isClosed(): boolean;
  /** An open handle on the segment's file, shared by every reader. */
  handle(seg: Segment): Promise<FileHandle>;
  /** Calls `wake` once, after the next group commit (or at close). */
  onDurable(wake: () => void): void;
}

export class JournalReader {
  /** Where the next read starts, when known: the segment (by its first LSN) and the byte in it. */
  private pos: { base: number; offset: number } | undefined;

  constructor(
    private readonly log: ReadableLog,
    /** The last LSN read: reading goes on after it. */
    private lsn: number,
  ) {}

  /** The last LSN this reader handed out. */
  get position(): number {
    return this.lsn;
  }

  /** Resolves when a durable record is waiting to be read, or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    if (this.log.durableLsn() > this.lsn || this.log.isClosed()) return Promise.resolve();
    return wakeOrTimeout(timeoutMs, (wake) => this.log.onDurable(wake));
  }

  /**
   * Durable records after the last one read, oldest first: at most `maxRecords`, about `maxBytes`, and
   * none beyond `untilLsn`.
   */
  async read(maxRecords: number, maxBytes = 16 * 1024 * 1024, untilLsn = Number.MAX_SAFE_INTEGER): Promise<ReadRecord[]> {
    const out: ReadRecord[] = [];
    let bytes = 0;
    const startLsn = this.log.startLsn();
    while (out.length < maxRecords && bytes < maxBytes && this.lsn < Math.min(this.log.durableLsn(), untilLsn)) {
      const segments = this.log.segments();
      let index = this.pos ? segments.findIndex((s) => s.base === this.pos!.base) : -1;
      if (index < 0) {
        // First read, or the segment was released and deleted: start at the segment holding the next LSN.
        index = segments.findIndex((s) => s.lastLsn > this.lsn);
        if (index < 0) break;
        this.pos = { base: segments[index]!.base, offset: 0 };
      }
      const seg = segments[index]!;
      const pos = this.pos!;
      if (pos.offset >= seg.size || seg.lastLsn <= this.lsn) {
        const next = segments[index + 1];
        if (!next) break;
        this.pos = { base: next.base, offset: 0 };
        continue;
      }
      const fh = await this.log.handle(seg);
      const r = await readRecords(fh, pos.offset, seg.size, (rec, end) => {
        if (rec.lsn > untilLsn) return false; // not consumed: the next read starts at it
        pos.offset = end;
        if (rec.lsn <= this.lsn) return true; // read before (a restart, or a reader placed by LSN)
        this.lsn = rec.lsn;
        out.push({ ...rec, replayed: rec.lsn < startLsn });
        bytes += rec.payload.length + rec.topic.length;
        return out.length < maxRecords && bytes < maxBytes;
      });
      if (r.stop === 'corrupt') throw new IngestError('INGEST_ERR_JOURNAL', `journal segment ${seg.path} is corrupt at byte ${r.offset}: ${r.reason}`);
      if (r.stop === 'end') pos.offset = Math.max(pos.offset, r.offset);
      else break;
    }
    return out;
  }
}
