/**
 * The edge buffer (store-and-forward): every message waits here, durable, until the broker acknowledged
 * it. Two implementations share this interface and one contract test suite (buffer.contract.ts):
 * MemoryBuffer (tests, simulators) and DiskBuffer (devices: segment files, CRC per record, fsync).
 */

/** Send order: events first, then live telemetry, then the replayed backlog; oldest first within each. */
export type Lane = 'event' | 'live' | 'replay';
export const LANES: readonly Lane[] = ['event', 'live', 'replay'];

/** A numbered contract message, encoded, ready to publish. */
export interface OutgoingMessage {
  lane: Lane;
  channel: 'telemetry' | 'event';
  boot: number;
  seq: number;
  /** ts of the first and last sample (or of the event). */
  firstTs: number;
  lastTs: number;
  /** Samples carried (0 for an event). */
  samples: number;
  /** The UTF-8 JSON payload exactly as it is published. */
  payload: Buffer;
}

export interface BufferedMessage extends OutgoingMessage {
  /** Buffer-wide id, increasing in append order. */
  id: number;
}

/** A reading taken while offline, waiting to be batched into a Telemetry message. */
export type BufferedSample = { ts: number } & Record<string, unknown>;

export interface DropReport {
  messages: number;
  samples: number;
  events: number;
  /** (boot, seq) range of the dropped messages, when any were numbered. */
  firstDropped?: { boot: number; seq: number };
  lastDropped?: { boot: number; seq: number };
}

export interface BufferStats {
  /** Messages not yet acknowledged by the broker, by lane. */
  pending: Record<Lane, number>;
  /** Samples in pending messages plus the open batch. */
  pendingSamples: number;
  /** Samples taken while offline and not yet sealed into a message. */
  openBatch: number;
  /** Bytes the buffer occupies (on disk for DiskBuffer), and its bound. */
  bytes: number;
  maxBytes: number;
  /** Dropped by the drop-oldest policy since the buffer was created. */
  droppedMessages: number;
  droppedSamples: number;
  /** Records that failed their CRC at recovery (torn writes after a power cut). */
  corruptRecords: number;
  /** ts of the oldest pending sample or event, if any. */
  oldestPendingTs: number | undefined;
}

export interface MessageBuffer {
  /** Recovers what a previous run left (DiskBuffer); must be called before anything else. */
  open(): Promise<void>;
  /** Appends a numbered message; resolves once it is durable. The message then shows in `next()`. */
  push(message: OutgoingMessage): Promise<BufferedMessage>;
  /** Appends an unnumbered sample to the open batch; resolves once durable. */
  addSample(sample: BufferedSample): Promise<void>;
  /** The open batch, oldest first. */
  openBatch(): readonly BufferedSample[];
  /**
   * Replaces the open batch by one message, atomically: after a crash either the samples are still the open
   * batch, or the message exists and they are gone. `build` runs synchronously (it takes the seq).
   * Resolves undefined when the open batch is empty.
   */
  seal(build: (samples: readonly BufferedSample[]) => OutgoingMessage): Promise<BufferedMessage | undefined>;
  /** Up to `limit` pending messages in send order, skipping `exclude` (those in flight). */
  next(limit: number, exclude?: ReadonlySet<number>): Promise<BufferedMessage[]>;
  /** The broker acknowledged message `id`: it is no longer pending. Unknown ids are ignored. */
  ack(id: number): Promise<void>;
  /** Acknowledged telemetry still kept (for the `replay` command) with samples in [fromTs, toTs]. */
  history(fromTs: number, toTs: number): AsyncIterable<BufferedMessage>;
  stats(): BufferStats;
  /** Pending messages in one lane (cheap, unlike stats()). */
  pendingCount(lane: Lane): number;
  /** Makes everything appended so far durable (acks included). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BufferOptions {
  /** Upper bound on the buffer's size in bytes; beyond it the oldest data is dropped, counted and logged. */
  maxBytes: number;
  /** Acknowledged messages kept for the `replay` command, bytes. Default: an eighth of maxBytes. */
  historyBytes?: number;
  /** Called after every drop, with what was dropped (the buffer also logs it). */
  onDrop?: (report: DropReport) => void;
}
