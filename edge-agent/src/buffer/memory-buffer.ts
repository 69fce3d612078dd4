import { silentLogger, type Logger } from '../logger.js';
import { DropCounter } from './drop-counter.js';
import { LANES, type BufferedMessage, type BufferedSample, type BufferOptions, type BufferStats, type Lane, type MessageBuffer, type OutgoingMessage } from './types.js';

/** Bytes a record occupies on disk, roughly: the same accounting as DiskBuffer, so bounds mean the same. */
const MESSAGE_OVERHEAD = 120;
const SAMPLE_OVERHEAD = 9;

interface Item {
  id: number;
  bytes: number;
  message?: BufferedMessage;
  sample?: BufferedSample;
}

/**
 * The buffer in memory: for tests and simulators, and the reference behaviour of the contract suite.
 * Lost on restart. Bounded by bytes with the same drop-oldest policy as DiskBuffer.
 */
export class MemoryBuffer implements MessageBuffer {
  private nextId = 0;
  /** Everything still held (pending, open batch, history), oldest first. */
  private readonly items = new Map<number, Item>();
  private readonly pending: Record<Lane, Map<number, BufferedMessage>> = { event: new Map(), live: new Map(), replay: new Map() };
  private readonly batch: Item[] = [];
  private readonly acked = new Set<number>();
  private historyBytes = 0;
  private bytes = 0;
  private readonly drops: DropCounter;
  private readonly maxBytes: number;
  private readonly maxHistoryBytes: number;

  constructor(options: BufferOptions & { logger?: Logger }) {
    this.maxBytes = options.maxBytes;
    this.maxHistoryBytes = options.historyBytes ?? Math.floor(options.maxBytes / 8);
    this.drops = new DropCounter(options.logger ?? silentLogger, options.onDrop);
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  push(message: OutgoingMessage): Promise<BufferedMessage> {
    const m: BufferedMessage = { ...message, id: this.nextId++ };
    this.add({ id: m.id, bytes: m.payload.length + MESSAGE_OVERHEAD, message: m });
    this.pending[m.lane].set(m.id, m);
    this.enforce();
    return Promise.resolve(m);
  }

  addSample(sample: BufferedSample): Promise<void> {
    const item = { id: this.nextId++, bytes: JSON.stringify(sample).length + SAMPLE_OVERHEAD, sample };
    this.add(item);
    this.batch.push(item);
    this.enforce();
    return Promise.resolve();
  }

  openBatch(): readonly BufferedSample[] {
    return this.batch.map((i) => i.sample!);
  }

  async seal(build: (samples: readonly BufferedSample[]) => OutgoingMessage): Promise<BufferedMessage | undefined> {
    if (this.batch.length === 0) return undefined;
    const message = build(this.openBatch());
    for (const item of this.batch.splice(0)) this.remove(item);
    return this.push(message);
  }

  next(limit: number, exclude: ReadonlySet<number> = new Set()): Promise<BufferedMessage[]> {
    const out: BufferedMessage[] = [];
    for (const lane of LANES) {
      for (const m of this.pending[lane].values()) {
        if (out.length >= limit) return Promise.resolve(out);
        if (!exclude.has(m.id)) out.push(m);
      }
    }
    return Promise.resolve(out);
  }

  ack(id: number): Promise<void> {
    const item = this.items.get(id);
    const m = item?.message;
    if (!item || !m || !this.pending[m.lane].delete(id)) return Promise.resolve();
    if (m.channel === 'telemetry') {
      this.acked.add(id);
      this.historyBytes += item.bytes;
    } else this.remove(item);
    this.trimHistory();
    return Promise.resolve();
  }

  async *history(fromTs: number, toTs: number): AsyncIterable<BufferedMessage> {
    for (const id of [...this.acked]) {
      const m = this.items.get(id)?.message;
      if (m && m.firstTs <= toTs && m.lastTs >= fromTs) yield m;
    }
  }

  stats(): BufferStats {
    const pending = { event: this.pending.event.size, live: this.pending.live.size, replay: this.pending.replay.size };
    let pendingSamples = this.batch.length;
    let oldest: number | undefined = this.batch[0]?.sample?.ts;
    for (const lane of LANES) {
      for (const m of this.pending[lane].values()) {
        pendingSamples += m.samples;
        oldest = oldest === undefined ? m.firstTs : Math.min(oldest, m.firstTs);
      }
    }
    return { pending, pendingSamples, openBatch: this.batch.length, bytes: this.bytes, maxBytes: this.maxBytes, ...this.drops.totals(), corruptRecords: 0, oldestPendingTs: oldest };
  }

  pendingCount(lane: Lane): number {
    return this.pending[lane].size;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private add(item: Item): void {
    this.items.set(item.id, item);
    this.bytes += item.bytes;
  }

  private remove(item: Item): void {
    if (this.items.delete(item.id)) this.bytes -= item.bytes;
    if (this.acked.delete(item.id)) this.historyBytes -= item.bytes;
  }

  private trimHistory(): void {
    for (const id of this.acked) {
      if (this.historyBytes <= this.maxHistoryBytes) break;
      const item = this.items.get(id);
      if (item) this.remove(item);
    }
  }

  /** Drop-oldest: history first (already delivered), then the oldest pending data, counted and logged. */
  private enforce(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const id of [...this.acked]) {
      if (this.bytes <= this.maxBytes) return;
      this.remove(this.items.get(id)!);
    }
    const report = this.drops.begin();
    for (const item of this.items.values()) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(item);
      if (item.message) {
        this.pending[item.message.lane].delete(item.id);
        report.message(item.message);
      } else if (item.sample) {
        this.batch.splice(this.batch.indexOf(item), 1);
        report.sample();
      }
    }
    this.drops.end(report, 'memory buffer full');
  }
}
