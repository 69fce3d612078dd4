import { silentLogger, type Logger } from '../logger.js';
import { DropCounter } from './drop-counter.js';
import { encodeAck, encodeMessage, encodeSample, messageFromHeader, type MessageHeader } from './record-codec.js';
import { SegmentLog } from './segment-log.js';
import { LANES, type BufferedMessage, type BufferedSample, type BufferOptions, type BufferStats, type Lane, type MessageBuffer, type OutgoingMessage } from './types.js';

export interface DiskBufferOptions extends BufferOptions {
  /** Directory of the segment files; one agent per directory (a LOCK file holds it). */
  dir: string;
  /** A new segment file starts after this many bytes. Default 1 MiB; at most maxBytes / 4. */
  segmentBytes?: number;
  /** Acks are written without waiting and synced within this delay, ms. Default 1000. */
  ackSyncMs?: number;
  logger?: Logger;
}

interface Entry {
  id: number;
  segment: number;
  payloadOffset: number;
  payloadLength: number;
  header: MessageHeader;
}

interface BatchItem {
  id: number;
  segment: number;
  sample: BufferedSample;
}

/**
 * The buffer on disk (see README "Store-and-forward"): an append-only segment log of samples (`S`),
 * numbered messages (`M`) and acks (`K`), each record CRC-checked. The in-memory index holds one small
 * entry per pending message and the open batch (≤ 1,000 samples), never the payloads, so memory stays
 * flat however long the backlog. Fsync policy: a message or sample is fdatasync'd before `push()` /
 * `addSample()` resolve, so nothing is published that a power cut could take back; acks are synced within
 * `ackSyncMs`, and an ack lost to a crash only makes the message go out again (the ingest stores it once).
 */
export class DiskBuffer implements MessageBuffer {
  private readonly log: SegmentLog;
  private readonly pending: Record<Lane, Map<number, Entry>> = { event: new Map(), live: new Map(), replay: new Map() };
  private readonly all = new Map<number, Entry>();
  private batch: BatchItem[] = [];
  /** Pending messages and open-batch samples per segment; a segment at 0 holds only delivered data. */
  private readonly live = new Map<number, number>();
  private readonly drops: DropCounter;
  private readonly maxHistoryBytes: number;
  private readonly logger: Logger;
  private enforcing: Promise<void> = Promise.resolve();

  constructor(private readonly o: DiskBufferOptions) {
    const segmentBytes = o.segmentBytes ?? 1024 * 1024;
    if (segmentBytes > o.maxBytes / 4) throw new RangeError(`buffer: segmentBytes (${segmentBytes}) must be at most a quarter of maxBytes (${o.maxBytes})`);
    this.logger = o.logger ?? silentLogger;
    this.log = new SegmentLog(o.dir, { segmentBytes, lazySyncMs: o.ackSyncMs ?? 1000, logger: this.logger });
    this.drops = new DropCounter(this.logger, o.onDrop);
    this.maxHistoryBytes = o.historyBytes ?? Math.floor(o.maxBytes / 8);
  }

  /** Replays the log: what was pending stays pending, samples after the last seal are the open batch. */
  async open(): Promise<void> {
    await this.log.open();
    for await (const { id, segment, record } of this.log.scan({ repair: true })) {
      if (record.kind === 'sample') {
        this.batch.push({ id, segment, sample: record.sample });
        this.bump(segment, 1);
      } else if (record.kind === 'message') {
        if (record.header.sealed) this.consumeBatch();
        this.index({ id, segment, payloadOffset: record.payloadOffset, payloadLength: record.payloadLength, header: record.header });
      } else {
        for (const acked of record.ids) this.unindex(acked);
      }
    }
    const s = this.stats();
    this.logger.info({ event: 'buffer_open', dir: this.o.dir, pending: s.pending, openBatch: s.openBatch, bytes: s.bytes, corruptRecords: s.corruptRecords }, 'buffer: recovered');
    await this.enforce();
  }

  async push(message: OutgoingMessage): Promise<BufferedMessage> {
    return this.append(message, false);
  }

  async addSample(sample: BufferedSample): Promise<void> {
    const a = await this.log.append(encodeSample(sample), true);
    this.batch.push({ id: a.id, segment: a.segment, sample });
    this.bump(a.segment, 1);
    await this.enforce();
  }

  openBatch(): readonly BufferedSample[] {
    return this.batch.map((b) => b.sample);
  }

  async seal(build: (samples: readonly BufferedSample[]) => OutgoingMessage): Promise<BufferedMessage | undefined> {
    if (this.batch.length === 0) return undefined;
    const message = build(this.openBatch());
    const items = this.batch;
    this.batch = [];
    try {
      const m = await this.append(message, true, () => {
        for (const item of items) this.bump(item.segment, -1);
      });
      return m;
    } catch (err) {
      this.batch = [...items, ...this.batch];
      throw err;
    }
  }

  async next(limit: number, exclude: ReadonlySet<number> = new Set()): Promise<BufferedMessage[]> {
    const picked: Entry[] = [];
    outer: for (const lane of LANES) {
      for (const e of this.pending[lane].values()) {
        if (picked.length >= limit) break outer;
        if (!exclude.has(e.id)) picked.push(e);
      }
    }
    const out: BufferedMessage[] = [];
    for (const e of picked) {
      // A message may be dropped (buffer full) while we read; skip it then.
      const payload = await this.log.read(e.segment, e.payloadOffset, e.payloadLength).catch(() => undefined);
      if (payload && this.all.has(e.id)) out.push({ ...messageFromHeader(e.header, payload), id: e.id });
    }
    return out;
  }

  async ack(id: number): Promise<void> {
    if (!this.unindex(id)) return;
    await this.log.append(encodeAck([id]), false);
    await this.trimHistory();
  }

  async *history(fromTs: number, toTs: number): AsyncIterable<BufferedMessage> {
    const seen = new Set<string>();
    for await (const { id, record } of this.log.scan({ repair: false })) {
      if (record.kind !== 'message' || record.header.ch !== 'telemetry' || this.all.has(id)) continue;
      const h = record.header;
      const key = `${h.boot}/${h.seq}`;
      if (h.t0 > toTs || h.t1 < fromTs || seen.has(key)) continue;
      seen.add(key);
      yield { ...messageFromHeader(h, Buffer.from(record.payload)), id };
    }
  }

  stats(): BufferStats {
    const pending = { event: this.pending.event.size, live: this.pending.live.size, replay: this.pending.replay.size };
    let pendingSamples = this.batch.length;
    let oldest: number | undefined = this.batch[0]?.sample.ts;
    for (const e of this.all.values()) {
      pendingSamples += e.header.n;
      oldest = oldest === undefined ? e.header.t0 : Math.min(oldest, e.header.t0);
    }
    return { pending, pendingSamples, openBatch: this.batch.length, bytes: this.log.bytes, maxBytes: this.o.maxBytes, ...this.drops.totals(), corruptRecords: this.log.corruptRecords, oldestPendingTs: oldest };
  }

  pendingCount(lane: Lane): number {
    return this.pending[lane].size;
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private async append(message: OutgoingMessage, sealed: boolean, onWritten?: () => void): Promise<BufferedMessage> {
    const { record, payloadOffset, header } = encodeMessage(message, sealed);
    const a = await this.log.append(record, true);
    onWritten?.();
    this.index({ id: a.id, segment: a.segment, payloadOffset: a.offset + payloadOffset, payloadLength: message.payload.length, header });
    await this.enforce();
    return { ...message, id: a.id };
  }

  private index(e: Entry): void {
    this.pending[e.header.lane].set(e.id, e);
    this.all.set(e.id, e);
    this.bump(e.segment, 1);
  }

  private unindex(id: number): Entry | undefined {
    const e = this.all.get(id);
    if (!e) return undefined;
    this.all.delete(id);
    this.pending[e.header.lane].delete(id);
    this.bump(e.segment, -1);
    return e;
  }

  private consumeBatch(): void {
    for (const item of this.batch) this.bump(item.segment, -1);
    this.batch = [];
  }

  private bump(segment: number, by: number): void {
    this.live.set(segment, (this.live.get(segment) ?? 0) + by);
  }

  /** Deletes the oldest fully delivered segments while they hold more than `historyBytes`. */
  private async trimHistory(): Promise<void> {
    let delivered = 0;
    for (const seg of this.log.segments) {
      if ((this.live.get(seg.firstId) ?? 0) > 0) break;
      delivered += seg.bytes;
    }
    while (delivered > this.maxHistoryBytes) {
      const seg = await this.log.dropOldest();
      if (!seg) break;
      this.live.delete(seg.firstId);
      delivered -= seg.bytes;
    }
  }

  /** Drop-oldest, whole segments at a time, until the log fits `maxBytes`; pending data lost is counted. */
  private enforce(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.log.bytes <= this.o.maxBytes) return;
      const report = this.drops.begin();
      while (this.log.bytes > this.o.maxBytes) {
        const seg = await this.log.dropOldest();
        if (!seg) break;
        const end = this.log.segments[0]?.firstId ?? Number.POSITIVE_INFINITY;
        for (const e of [...this.all.values()]) {
          if (e.id >= end) break;
          if (e.segment !== seg.firstId) continue;
          this.unindex(e.id);
          report.message(messageFromHeader(e.header, Buffer.alloc(0)));
        }
        const kept = this.batch.filter((b) => b.segment !== seg.firstId);
        for (let i = kept.length; i < this.batch.length; i++) report.sample();
        this.batch = kept;
        this.live.delete(seg.firstId);
      }
      this.drops.end(report, `buffer ${this.o.dir} reached its bound of ${this.o.maxBytes} bytes`);
    };
    this.enforcing = this.enforcing.then(run, run);
    return this.enforcing;
  }
}
