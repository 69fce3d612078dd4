import { mkdir, open, readdir, readFile, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeAgentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { decodeRecord, type DecodedRecord } from './record-codec.js';

export interface Segment {
  /** Id of the first record in the file; also its name (`0000000000000042.seg`). */
  firstId: number;
  path: string;
  bytes: number;
}

export interface Appended {
  id: number;
  segment: number;
  /** Offset of the record in its segment. */
  offset: number;
}

interface Queued {
  record: Buffer;
  id: number;
  durable: boolean;
  resolve: (a: Appended) => void;
  reject: (err: Error) => void;
}

const SEGMENT_RE = /^(\d{16})\.seg$/;
const LOCK = 'LOCK';

function ioError(what: string, err: unknown): EdgeAgentError {
  return new EdgeAgentError('EDGE_ERR_BUFFER_IO', `buffer: ${what}: ${(err as Error).message}`, { cause: err });
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An append-only log split into segment files, every record numbered. Appends are group-committed: all
 * records queued while a write is in progress go out in one write(); a batch holding a durable record
 * is fdatasync'd before any of its appends resolve. Non-durable records (acks) are synced within
 * `lazySyncMs`. Segments are only ever deleted oldest first.
 */
export class SegmentLog {
  readonly segments: Segment[] = [];
  private nextId = 0;
  private active: { seg: Segment; fh: FileHandle } | undefined;
  private readonly queue: Queued[] = [];
  private pumping = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly readers = new Map<number, FileHandle>();
  corruptRecords = 0;

  constructor(
    readonly dir: string,
    private readonly o: { segmentBytes: number; lazySyncMs: number; logger: Logger },
  ) {}

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Locks the directory (one agent per buffer) and lists the segments. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
      throw ioError(`cannot create ${this.dir}`, err);
    });
    await this.lock();
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    for (const name of names) {
      const path = join(this.dir, name);
      this.segments.push({ firstId: Number(SEGMENT_RE.exec(name)![1]), path, bytes: (await stat(path)).size });
    }
    const last = this.segments.at(-1);
    if (last) this.nextId = last.firstId;
  }

  /**
   * Every record, oldest first. With `repair` (at open, before any append) a torn tail of the newest
   * segment is cut off and damage is counted; without it (a live read) only the bytes known written are read.
   */
  async *scan({ repair }: { repair: boolean }): AsyncGenerator<{ id: number; segment: number; offset: number; record: DecodedRecord }> {
    for (const [i, seg] of [...this.segments].entries()) {
      let buf: Buffer;
      try {
        buf = await readFile(seg.path);
      } catch (err) {
        if (!repair && (err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped meanwhile
        throw ioError(`cannot read ${seg.path}`, err);
      }
      if (!repair) buf = buf.subarray(0, seg.bytes);
      let offset = 0;
      let id = seg.firstId;
      for (;;) {
        const r = decodeRecord(buf, offset);
        if (r === undefined) break;
        if (r === 'corrupt') {
          if (!repair) break;
          this.corruptRecords++;
          const newest = i === this.segments.length - 1;
          this.o.logger.warn({ event: 'buffer_corrupt', segment: seg.path, offset, bytes: buf.length - offset, truncated: newest }, newest ? 'buffer: torn write at the end of the log (power cut?); cut off' : 'buffer: damaged record; the rest of this segment is skipped');
          if (newest) {
            await truncate(seg.path, offset);
            seg.bytes = offset;
          }
          break;
        }
        yield { id, segment: seg.firstId, offset, record: r.record };
        id++;
        offset = r.next;
      }
      if (repair) this.nextId = Math.max(this.nextId, id);
    }
  }

  /** Queues a framed record; resolves once written (and synced, if durable). Ids follow call order. */
  append(record: Buffer, durable: boolean): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, id: this.nextId++, durable, resolve, reject });
      void this.pump();
    });
  }

  async read(segment: number, offset: number, length: number): Promise<Buffer> {
    let fh = this.readers.get(segment);
    if (!fh) {
      const seg = this.segments.find((s) => s.firstId === segment);
      if (!seg) throw new EdgeAgentError('EDGE_ERR_BUFFER_IO', `buffer: segment ${segment} is gone (dropped)`);
      fh = await open(seg.path, 'r');
      this.readers.set(segment, fh);
      if (this.readers.size > 4) {
        const [oldest, h] = this.readers.entries().next().value as [number, FileHandle];
        this.readers.delete(oldest);
        await h.close();
      }
    }
    const out = Buffer.alloc(length);
    await fh.read(out, 0, length, offset);
    return out;
  }

  /** Deletes the oldest segment (never the one being written). */
  async dropOldest(): Promise<Segment | undefined> {
    const seg = this.segments[0];
    if (!seg || seg === this.active?.seg) return undefined;
    this.segments.shift();
    const fh = this.readers.get(seg.firstId);
    this.readers.delete(seg.firstId);
    await fh?.close();
    await rm(seg.path, { force: true });
    await syncDir(this.dir);
    return seg;
  }

  async flush(): Promise<void> {
    while (this.pumping || this.queue.length > 0) await new Promise((r) => setTimeout(r, 1));
    await this.sync();
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.syncTimer);
    await this.active?.fh.close();
    this.active = undefined;
    for (const fh of this.readers.values()) await fh.close();
    this.readers.clear();
    await rm(join(this.dir, LOCK), { force: true });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.writeBatch(batch);
        } catch (err) {
          const e = ioError(`cannot write to ${this.dir}`, err);
          for (const q of batch) q.reject(e);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    if (!this.active || this.active.seg.bytes >= this.o.segmentBytes) await this.rotate(batch[0]!.id);
    const { seg, fh } = this.active!;
    const start = seg.bytes;
    const data = Buffer.concat(batch.map((q) => q.record));
    await fh.write(data, 0, data.length, start);
    seg.bytes += data.length;
    if (batch.some((q) => q.durable)) await this.sync();
    else this.scheduleSync();
    let offset = start;
    for (const q of batch) {
      q.resolve({ id: q.id, segment: seg.firstId, offset });
      offset += q.record.length;
    }
  }

  private async rotate(firstId: number): Promise<void> {
    if (this.active) {
      await this.sync();
      await this.active.fh.close();
    }
    const path = join(this.dir, `${String(firstId).padStart(16, '0')}.seg`);
    const fh = await open(path, 'a+');
    const seg = { firstId, path, bytes: (await fh.stat()).size };
    if (this.segments.at(-1)?.firstId !== firstId) this.segments.push(seg);
    else this.segments[this.segments.length - 1] = seg;
    this.active = { seg, fh };
    // The new file's directory entry must survive a power cut too.
    await syncDir(this.dir);
  }

  private scheduleSync(): void {
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      void this.sync().catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'buffer: lazy sync failed'));
    }, this.o.lazySyncMs);
    this.syncTimer.unref();
  }

  private async sync(): Promise<void> {
    await this.active?.fh.datasync();
  }

  private async lock(): Promise<void> {
    const file = join(this.dir, LOCK);
    const held = await readFile(file, 'utf8').catch(() => undefined);
    const pid = Number(held);
    if (held !== undefined && Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
      throw new EdgeAgentError('EDGE_ERR_BUFFER_LOCKED', `buffer: ${this.dir} is in use by process ${pid}; run one agent per buffer directory`);
    }
    await writeFile(file, String(process.pid));
  }
}
