/**
 * The ingest's write-ahead journal: where a message is made safe before its PUBACK goes out.
 *
 * - append() frames the message (record.ts) and resolves once it is on disk: appends that arrive while a
 *   write + fdatasync is under way wait together for the next one (group commit), so concurrent devices
 *   share one fsync and throughput grows with load instead of being one fsync per message.
 * - read() hands durable records, in order, to the drainer that stores them; release(lsn) is called once
 *   records up to `lsn` are committed to storage, and whole segments below it are deleted.
 * - Bounded: when unreleased data reaches `maxBytes`, append() waits (no PUBACK, so the broker keeps the
 *   messages) instead of dropping anything. Memory holds only the group being written.
 * - After a crash, open() validates every record (CRC), cuts a torn tail, and read() starts after the
 *   LSN the caller says was stored (`releasedLsn`): everything acknowledged and not stored is replayed.
 */
import { mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IngestError } from '../errors.js';
import { encodeRecord, type JournalRecord } from './record.js';
import { readRecords, scanSegments, segmentFileName, type ScanProblem, type Segment } from './segments.js';

export interface JournalOptions {
  dir: string;
  /** Highest LSN already committed to storage (persisted by the caller); records up to it are not replayed. */
  releasedLsn?: number;
  /** Bytes of unreleased records before append() waits (disk use stays below this + one segment). Default 256 MiB. */
  maxBytes?: number;
  /** A segment is closed and a new one started beyond this size. Default min(16 MiB, maxBytes / 8). */
  segmentBytes?: number;
  /** Reports repaired or corrupt data found at open. */
  onProblem?: (p: ScanProblem) => void;
}

export interface ReadRecord extends JournalRecord {
  /** Written before this process opened the journal: replayed after a restart or crash. */
  replayed: boolean;
}

export interface JournalStats {
  segments: number;
  /** On disk, including released records in a segment not yet complete. */
  bytes: number;
  unreleasedBytes: number;
  maxBytes: number;
  durableLsn: number;
  releasedLsn: number;
  /** Records durable but not yet released (waiting to be stored). */
  backlog: number;
  /** append() calls waiting for space. */
  waitingForSpace: number;
  fsyncs: number;
}

/** The records of the next group commit and the one promise they share (settled by that commit). */
interface Group {
  bufs: Buffer[];
  firstLsn: number;
  lastLsn: number;
  bytes: number;
  durable: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newGroup(firstLsn: number): Group {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const durable = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  durable.catch(() => undefined); // the caller may only look at it later
  return { bufs: [], firstLsn, lastLsn: firstLsn, bytes: 0, durable, resolve, reject };
}

export class Journal {
  private segments: Segment[] = [];
  private active!: FileHandle;
  private nextLsn = 1;
  private durableLsn = 0;
  private releasedLsn = 0;
  private readLsn = 0;
  private readPos = { index: 0, offset: 0 };
  /** First LSN written by this process; lower ones are replays. */
  private startLsn = 1;
  /** The group the next appends join; undefined until one does. */
  private pending: Group | undefined;
  private pendingBytes = 0;
  private flushing = false;
  private failed: IngestError | undefined;
  private spaceWaiters: Array<() => void> = [];
  private dataWaiters: Array<() => void> = [];
  private readonly readers = new Map<string, FileHandle>();
  private fsyncs = 0;
  private closed = false;
  readonly maxBytes: number;
  private readonly segmentBytes: number;

  private constructor(private readonly o: JournalOptions) {
    this.maxBytes = o.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = o.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.floor(this.maxBytes / 8));
  }

  static async open(o: JournalOptions): Promise<Journal> {
    mkdirSync(o.dir, { recursive: true });
    const j = new Journal(o);
    await j.recover();
    return j;
  }

  private async recover(): Promise<void> {
    const released = this.o.releasedLsn ?? 0;
    const found = await scanSegments(this.o.dir, (p) => this.o.onProblem?.(p));
    for (const s of found) {
      if (s.lastLsn <= released && s !== found.at(-1)) await unlink(s.path);
      else this.segments.push(s);
    }
    const lastLsn = Math.max(released, ...found.map((s) => s.lastLsn));
    this.nextLsn = lastLsn + 1;
    this.durableLsn = lastLsn;
    this.releasedLsn = released;
    this.readLsn = released;
    this.startLsn = this.nextLsn;
    const last = this.segments.at(-1);
    if (!last || last.lastLsn < released) await this.startSegment(this.nextLsn);
    else this.active = await open(last.path, 'a+');
  }

  private async startSegment(base: number): Promise<void> {
    const path = join(this.o.dir, segmentFileName(base));
    this.active = await open(path, 'a+');
    this.segments.push({ base, path, size: 0, lastLsn: base - 1 });
    // The new file's directory entry must be durable too, or a crash could lose the whole segment.
    const dir = await open(this.o.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private diskBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0) + this.pendingBytes;
  }

  /**
   * Bytes of records not yet released (the bound applies to these). Within the segment that holds the
   * release point the split is estimated by record count. Released bytes stay on disk until their segment
   * is complete, so disk use stays below maxBytes + one segment.
   */
  private unreleasedBytes(): number {
    let n = this.pendingBytes;
    for (const s of this.segments) {
      const count = s.lastLsn - s.base + 1;
      if (count <= 0 || s.lastLsn <= this.releasedLsn) continue;
      const released = Math.max(0, this.releasedLsn - s.base + 1);
      n += (s.size * (count - released)) / count;
    }
    return n;
  }

  /** Resolves with the record's LSN once it is durable (fdatasync'd). Waits while the journal is full. */
  async append(topic: string, payload: Buffer, receivedAt: number): Promise<number> {
    const { lsn, durable } = await this.enqueue(topic, payload, receivedAt);
    await durable;
    return lsn;
  }

  /**
   * Two steps in one: resolves once the record has room and is queued for the next group commit (this is
   * where a full journal makes the caller wait), with `durable`, which resolves once it is on disk.
   * Every record of one group commit gets the same `durable` promise: one promise per fsync, not one per
   * message (allocations per message were a fifth of the ingest's CPU as GC, bench ingest-e2e live), and
   * callers can tell records of one commit apart from the next by comparing it.
   */
  async enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<{ lsn: number; durable: Promise<void> }> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new IngestError('INGEST_ERR_JOURNAL', 'the journal is closed', true);
    while (this.unreleasedBytes() >= this.maxBytes) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      if (this.failed) throw this.failed;
      if (this.closed) throw new IngestError('INGEST_ERR_JOURNAL', 'the journal is closed', true);
    }
    const lsn = this.nextLsn++;
    const buf = encodeRecord(lsn, receivedAt, topic, payload);
    const group = (this.pending ??= newGroup(lsn));
    group.bufs.push(buf);
    group.lastLsn = lsn;
    group.bytes += buf.length;
    this.pendingBytes += buf.length;
    if (!this.flushing) void this.flushLoop();
    return { lsn, durable: group.durable };
  }

  /** True once a write or fsync failed: nothing more is taken until a restart. */
  get broken(): IngestError | undefined {
    return this.failed;
  }

  /** Writes and fsyncs everything pending, group by group, until nothing is left. */
  private async flushLoop(): Promise<void> {
    this.flushing = true;
    // Let the appends of this event-loop turn join the group.
    await new Promise((r) => setImmediate(r));
    while (this.pending && !this.failed) {
      const group = this.pending;
      this.pending = undefined;
      const bytes = group.bytes;
      this.pendingBytes -= bytes;
      let seg = this.segments.at(-1)!;
      try {
        if (seg.size > 0 && seg.size + bytes > this.segmentBytes) {
          await this.active.close();
          await this.startSegment(group.firstLsn);
          seg = this.segments.at(-1)!;
        }
        await this.active.writev(group.bufs);
        await this.active.datasync();
        this.fsyncs++;
      } catch (err) {
        this.fail(err as Error, seg);
        group.reject(this.failed!);
        // Appends made while this group was being written joined the next one (TS cannot see that across awaits).
        (this.pending as Group | undefined)?.reject(this.failed!);
        this.pending = undefined;
        break;
      }
      seg.size += bytes;
      seg.lastLsn = group.lastLsn;
      this.durableLsn = seg.lastLsn;
      group.resolve();
      this.wake(this.dataWaiters);
    }
    this.flushing = false;
  }

  /** After a failed write or fsync the file's state is unknown: stop taking messages (no PUBACK) until restart. */
  private fail(err: Error, seg: Segment): void {
    this.failed = new IngestError('INGEST_ERR_JOURNAL', `journal write to ${seg.path} failed: ${err.message}; restart the ingest once the disk is fixed`, false, { cause: err });
    // Cut whatever part of the group reached the file, so a restart finds only whole, acknowledged records.
    void this.active.truncate(seg.size).catch(() => undefined);
    this.wake(this.spaceWaiters);
  }

  private wake(waiters: Array<() => void>): void {
    const list = waiters.splice(0);
    for (const w of list) w();
  }

  /** Resolves when a durable record is waiting to be read, or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    if (this.durableLsn > this.readLsn || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.dataWaiters.push(done);
    });
  }

  /** Durable records after the last one read, oldest first: at most `maxRecords` and about `maxBytes`. */
  async read(maxRecords: number, maxBytes = 16 * 1024 * 1024): Promise<ReadRecord[]> {
    const out: ReadRecord[] = [];
    let bytes = 0;
    while (out.length < maxRecords && bytes < maxBytes && this.readLsn < this.durableLsn) {
      const seg = this.segments[this.readPos.index];
      if (!seg) break;
      if (this.readPos.offset >= seg.size || seg.lastLsn <= this.readLsn) {
        if (this.readPos.index >= this.segments.length - 1) break;
        this.readPos = { index: this.readPos.index + 1, offset: 0 };
        continue;
      }
      const fh = await this.reader(seg);
      const r = await readRecords(fh, this.readPos.offset, seg.size, (rec, end) => {
        this.readPos.offset = end;
        if (rec.lsn <= this.readLsn) return true; // already stored before a restart
        this.readLsn = rec.lsn;
        out.push({ ...rec, replayed: rec.lsn < this.startLsn });
        bytes += rec.payload.length + rec.topic.length;
        return out.length < maxRecords && bytes < maxBytes;
      });
      if (r.stop === 'corrupt') throw new IngestError('INGEST_ERR_JOURNAL', `journal segment ${seg.path} is corrupt at byte ${r.offset}: ${r.reason}`);
      if (r.stop === 'end') this.readPos.offset = Math.max(this.readPos.offset, r.offset);
    }
    return out;
  }

  private async reader(seg: Segment): Promise<FileHandle> {
    let fh = this.readers.get(seg.path);
    if (!fh) {
      fh = await open(seg.path, 'r');
      this.readers.set(seg.path, fh);
    }
    return fh;
  }

  /** Records up to `lsn` are committed to storage: whole segments below it are deleted, freeing space. */
  async release(lsn: number): Promise<void> {
    if (lsn <= this.releasedLsn) return;
    this.releasedLsn = Math.min(lsn, this.durableLsn);
    while (this.segments.length > 1 && this.segments[0]!.lastLsn <= this.releasedLsn && this.readPos.index > 0) {
      const [seg] = this.segments.splice(0, 1);
      this.readPos.index--;
      await this.readers.get(seg!.path)?.close();
      this.readers.delete(seg!.path);
      await unlink(seg!.path);
    }
    this.wake(this.spaceWaiters);
  }

  stats(): JournalStats {
    return {
      segments: this.segments.length,
      bytes: this.diskBytes(),
      unreleasedBytes: Math.round(this.unreleasedBytes()),
      maxBytes: this.maxBytes,
      durableLsn: this.durableLsn,
      releasedLsn: this.releasedLsn,
      backlog: this.durableLsn - this.releasedLsn,
      waitingForSpace: this.spaceWaiters.length,
      fsyncs: this.fsyncs,
    };
  }

  /** Lets pending appends finish (they are durable, or they fail), then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
    this.wake(this.spaceWaiters);
    this.wake(this.dataWaiters);
    await this.active.close().catch(() => undefined);
    for (const fh of this.readers.values()) await fh.close().catch(() => undefined);
    this.readers.clear();
  }
}
