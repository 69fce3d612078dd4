/**
 * The ingest's write-ahead journal: where a message is made safe before its PUBACK goes out.
 *
 * - append() frames the message (record.ts) and resolves once it is on disk: appends that arrive while a
 *   write + fdatasync is under way wait together for the next one (group commit), so concurrent devices
 *   share one fsync and throughput grows with load instead of being one fsync per message.
 * - read() hands durable records, in order, to the dispatcher (reader.ts; openReader() gives another place
 *   to read from); release(lsn) is called once records up to `lsn` are committed to storage, and whole
 *   segments below it that no reader still needs are deleted.
 * - Bounded: when unreleased data reaches `maxBytes`, append() waits (no PUBACK, so the broker keeps the
 *   messages) instead of dropping anything. Memory holds only the group being written.
 * - A record is durable only when the whole group reached the file and the fsync succeeded. A short write
 *   (libuv's writev returns what it wrote before ENOSPC or EIO, without an error), a failed write or a
 *   failed fsync rejects that group and the one queued behind it (no PUBACK: devices keep the messages
 *   and send them again), cuts what reached the file, and the journal takes nothing until the disk
 *   works again (see Refusal); then it resumes by itself, no restart.
 * - Below the free-space watermark (`minFreeBytes`, free-space.ts) it stops taking messages before the
 *   disk is full: appends wait, the group already queued waits in memory, and all of it goes on once
 *   space returns.
 * - After a crash, open() validates every record (CRC), cuts a torn tail, and read() starts after the
 *   LSN the caller says was stored (`releasedLsn`): everything acknowledged and not stored is replayed.
 */
import { mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IngestError } from '../errors.js';
import { Admission, type AdmissionOptions, type Refusal } from './admission.js';
import { FreeSpace, type FreeBytesProbe } from './free-space.js';
import { GroupWriteError, newGroup, writeGroup, type Group } from './group.js';
import { JournalReader, type ReadableLog, type ReadRecord } from './reader.js';
import { encodeRecord } from './record.js';
import { createSegmentFile, scanSegments, segmentFileName, type ScanProblem, type Segment } from './segments.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export type { Refusal } from './admission.js';
export type { ReadRecord } from './reader.js';
export { JournalReader } from './reader.js';

export interface JournalOptions extends AdmissionOptions {
  dir: string;
  /** Highest LSN already committed to storage (persisted by the caller); records up to it are not replayed. */
  releasedLsn?: number;
  /** Bytes of unreleased records before append() waits (disk use stays below this + one segment). Default 256 MiB. */
  maxBytes?: number;
  /** A segment is closed and a new one started beyond this size. Default min(16 MiB, maxBytes / 8). */
  segmentBytes?: number;
  /** Reports repaired or corrupt data found at open. */
  onProblem?: (p: ScanProblem) => void;
  /** Free space to keep on the journal's file system (JOURNAL_MIN_FREE_MB); default 0: none. */
  minFreeBytes?: number;
  /** Free bytes of the file system holding `dir`; default statfs. */
  freeBytes?: FreeBytesProbe;
  /** Opens segment files; default fs/promises open. Tests inject a handle that writes short or fails. */
  openFile?: (path: string, flags: string) => Promise<FileHandle>;
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
  /** append() calls waiting for space (in the journal or on the disk). */
  waitingForSpace: number;
  fsyncs: number;
  /** Group commits that failed (short write, write or fsync error) and were not acknowledged. */
  failedWrites: number;
  /** Free bytes of the journal's file system at the last reading (null when unknown or not watched). */
  freeBytes: number | null;
  minFreeBytes: number;
}

export class Journal {
  private segments: Segment[] = [];
  /** The segment appends go to; undefined until one is started (lazily, so a full disk cannot stop open()). */
  private active: FileHandle | undefined;
  private nextLsn = 1;
  private durableLsn = 0;
  private releasedLsn = 0;
  /** First LSN written by this process; lower ones are replays. */
  private startLsn = 1;
  /** The group the next appends join; undefined until one does. */
  private pending: Group | undefined;
  private pendingBytes = 0;
  private flushing = false;
  private failedWrites = 0;
  private spaceWaiters: Array<() => void> = [];
  private dataWaiters: Array<() => void> = [];
  private readonly handles = new Map<string, FileHandle>();
  /** Where read() reads (the dispatcher), and the readers openReader() handed out. */
  private main!: JournalReader;
  private readonly readers = new Set<JournalReader>();
  private fsyncs = 0;
  private closed = false;
  readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly space: FreeSpace;
  private readonly admission: Admission;
  private readonly openFile: (path: string, flags: string) => Promise<FileHandle>;

  private constructor(private readonly o: JournalOptions) {
    this.maxBytes = o.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = o.segmentBytes ?? Math.min(16 * 1024 * 1024, Math.floor(this.maxBytes / 8));
    this.space = new FreeSpace(o.dir, o.minFreeBytes ?? 0, o.freeBytes);
    this.admission = new Admission(this.space, o, () => this.wake(this.spaceWaiters));
    this.openFile = o.openFile ?? ((path, flags) => open(path, flags));
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
    this.main = new JournalReader(this.log, released);
    this.readers.add(this.main);
    this.startLsn = this.nextLsn;
    const last = this.segments.at(-1);
    // Appending to the last segment needs no new space; a new one is started by the first write.
    if (last && last.lastLsn >= released) this.active = await this.openFile(last.path, 'a+');
  }

  /** Starts the segment whose first record is `base` and makes it the one appends go to. */
  private async startSegment(base: number): Promise<void> {
    // An empty segment left by a failed attempt holds nothing durable: the new one takes its place.
    if (this.segments.at(-1)?.size === 0) this.segments.pop();
    const path = join(this.o.dir, segmentFileName(base));
    this.active = await createSegmentFile(this.o.dir, path, this.openFile);
    this.segments.push({ base, path, size: 0, lastLsn: base - 1 });
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

  /** Resolves with the record's LSN once it is durable (fdatasync'd). Waits while the journal is full or refusing. */
  async append(topic: string, payload: Buffer, receivedAt: number): Promise<number> {
    const { lsn, durable } = await this.enqueue(topic, payload, receivedAt);
    await durable;
    return lsn;
  }

  /**
   * Two steps in one: resolves once the record has room and is queued for the next group commit (this is
   * where a full or refusing journal makes the caller wait), with `durable`, which resolves once it is on
   * disk and rejects if its group commit failed (then it was never durable: do not acknowledge it).
   * Every record of one group commit gets the same `durable` promise: one promise per fsync, not one per
   * message (allocations per message were a fifth of the ingest's CPU as GC, bench ingest-e2e live), and
   * callers can tell records of one commit apart from the next by comparing it.
   */
  async enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<{ lsn: number; durable: Promise<void> }> {
    this.checkOpen();
    while (this.admission.refusal || this.unreleasedBytes() >= this.maxBytes) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      this.checkOpen();
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

  private checkOpen(): void {
    if (this.closed) throw new IngestError('INGEST_ERR_JOURNAL', 'the journal is closed');
  }

  /** Why the journal takes no messages right now (appends wait), or undefined while it takes them. */
  get refused(): Refusal | undefined {
    return this.admission.refusal;
  }

  /** Writes and fsyncs everything pending, group by group, until nothing is left. */
  private async flushLoop(): Promise<void> {
    this.flushing = true;
    // Let the appends of this event-loop turn join the group.
    await nextTurn();
    while (this.pending) {
      const group = this.pending;
      this.pending = undefined;
      // Below the watermark the group waits here, in memory and unacknowledged, until space returns.
      if (!(await this.admission.roomFor(group.bytes))) {
        this.rejectQueued(group, new IngestError('INGEST_ERR_JOURNAL', 'the journal closed while waiting for disk space; not acknowledged'));
        break;
      }
      await this.commit(group);
    }
    this.flushing = false;
  }

  /** One group commit: the whole group written and fsync'd, or rejected and cut from the file. */
  private async commit(group: Group): Promise<void> {
    try {
      const seg = this.segments.at(-1);
      if (!this.active || !seg || (seg.size > 0 && seg.size + group.bytes > this.segmentBytes)) {
        await this.active?.close();
        this.active = undefined;
        await this.startSegment(group.firstLsn);
      }
      await writeGroup(this.active!, group);
      this.fsyncs++;
    } catch (err) {
      await this.failed(group, err instanceof GroupWriteError ? err : new GroupWriteError('write', err as Error));
      return;
    }
    const seg = this.segments.at(-1)!;
    seg.size += group.bytes;
    seg.lastLsn = group.lastLsn;
    this.durableLsn = seg.lastLsn;
    this.pendingBytes -= group.bytes;
    this.admission.written(group.bytes);
    group.resolve();
    this.wake(this.dataWaiters);
  }

  /**
   * A group commit failed: none of it is acknowledged. What reached the file is cut, so a restart finds
   * only whole, acknowledged records; after a failed fsync (or a failed cut) the file cannot be trusted,
   * so writing goes on in a new segment. The journal then refuses until the disk works again (admission.ts).
   */
  private async failed(group: Group, err: GroupWriteError): Promise<void> {
    this.failedWrites++;
    const seg = this.segments.at(-1);
    let abandon = err.phase === 'fsync';
    if (seg && this.active) await this.active.truncate(seg.size).catch(() => (abandon = true));
    if (abandon || !seg) {
      await this.active?.close().catch(() => undefined);
      this.active = undefined;
    }
    const where = seg?.path ?? this.o.dir;
    this.rejectQueued(group, new IngestError('INGEST_ERR_JOURNAL', `journal ${err.phase} to ${where} failed: ${err.message}; not acknowledged: the devices keep these messages and send them again`, { cause: err.reason }));
    this.admission.writeFailed(err.reason);
  }

  /** Rejects `group` and the group queued behind it, and gives their LSNs back (no gap in the numbering). */
  private rejectQueued(group: Group, error: IngestError): void {
    group.reject(error);
    this.pending?.reject(error);
    this.pending = undefined;
    this.pendingBytes = 0;
    this.nextLsn = group.firstLsn;
  }

  private wake(waiters: Array<() => void>): void {
    const list = waiters.splice(0);
    for (const w of list) w();
  }

  /** What a JournalReader sees of this journal. */
  private readonly log: ReadableLog = {
    segments: () => this.segments,
    durableLsn: () => this.durableLsn,
    startLsn: () => this.startLsn,
    isClosed: () => this.closed,
    handle: async (seg) => {
      let fh = this.handles.get(seg.path);
      if (!fh) {
        fh = await open(seg.path, 'r');
        this.handles.set(seg.path, fh);
      }
      return fh;
    },
    onDurable: (wake) => this.dataWaiters.push(wake),
  };

  /** Resolves when a durable record is waiting for read(), or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    return this.main.waitForData(timeoutMs);
  }

  /** Durable records after the last one read, oldest first: at most `maxRecords` and about `maxBytes`. */
  read(maxRecords: number, maxBytes?: number): Promise<ReadRecord[]> {
    return this.main.read(maxRecords, maxBytes);
  }

  /** Another place to read from, after `afterLsn` (at least the released LSN); closeReader() when done. */
  openReader(afterLsn: number): JournalReader {
    const reader = new JournalReader(this.log, Math.max(afterLsn, this.releasedLsn));
    this.readers.add(reader);
    return reader;
  }

  closeReader(reader: JournalReader): void {
    if (reader !== this.main) this.readers.delete(reader);
  }

  /** Records up to `lsn` are committed to storage: whole segments below it are deleted, freeing space. */
  async release(lsn: number): Promise<void> {
    if (lsn <= this.releasedLsn) return;
    this.releasedLsn = Math.min(lsn, this.durableLsn);
    const passed = (seg: Segment) => [...this.readers].every((r) => r.position >= seg.lastLsn);
    while (this.segments.length > 1 && this.segments[0]!.lastLsn <= this.releasedLsn && passed(this.segments[0]!)) {
      const [seg] = this.segments.splice(0, 1);
      await this.handles.get(seg!.path)?.close().catch(() => undefined);
      this.handles.delete(seg!.path);
      // A file that cannot be deleted now (a failing disk) is deleted by the next open, which skips it
      // as released; the drainer must not stop over it.
      await unlink(seg!.path).catch(() => undefined);
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
      failedWrites: this.failedWrites,
      freeBytes: this.space.lastFree,
      minFreeBytes: this.space.minFreeBytes,
    };
  }

  /** Lets pending appends finish (they are durable, or they fail), then closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.admission.close();
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
    this.wake(this.spaceWaiters);
    this.wake(this.dataWaiters);
    await this.active?.close().catch(() => undefined);
    for (const fh of this.handles.values()) await fh.close().catch(() => undefined);
    this.handles.clear();
  }
}
