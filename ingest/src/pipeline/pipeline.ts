import type { Logger } from 'pino';
import type { DeadLetter, StorableMessage } from '../storage/types.js';
import { emptyCounters, type Outcome, type PipelineCounters } from './outcome.js';
import { routeStep, validateMessage, type MessageContext, type PipelineDeps } from './steps.js';
import { latestClockSkews, recordOtherClockSkews, touchDevices, writeBisecting, type BatchSkews } from './store-batch.js';

export interface PipelineOptions {
  /** Payload bytes kept in a dead letter; the contract's limit by default, so nothing valid-sized is cut. */
  deadLetterMaxPayloadBytes?: number;
  logger?: Logger;
  /** Called after every message with its outcome (alerts, ledgers and tests hook in here). */
  onOutcome?: (outcome: Outcome, ctx: MessageContext) => void;
  /**
   * Validation done earlier for a journal record (the alert fast lane validates at receive time); taken
   * once. The steps are deterministic, so reusing their result is the same as running them again.
   */
  validatedEarlier?: (lsn: number) => { ctx: MessageContext; outcome: Outcome | undefined } | undefined;
}

export interface BatchOptions {
  /** Look for a message that makes the store fail every time, and dead-letter it (see writeBisecting). */
  isolatePoison?: boolean;
}

/** A message as the broker delivered it (and as the journal keeps it). */
export interface RawMessage {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** Journalled by an earlier run of the ingest and replayed after a restart (ReadRecord.replayed). */
  replayed?: boolean;
  /** Its journal record number, when it comes from the journal. */
  lsn?: number;
}

export interface IngestPipeline {
  /**
   * Takes one MQTT message through the steps. Resolves once its outcome is durable (stored, or
   * dead-lettered); rejects only when storage failed, in which case the caller must not acknowledge the
   * message and should retry it later.
   */
  handle(topicName: string, payload: Buffer, receivedAt?: number): Promise<Outcome>;
  /**
   * The same for a batch: validation per message, then ONE write of all telemetry and events to the store.
   * Resolves with one outcome per message, in order, once all are durable; rejects (nothing to
   * acknowledge, retry the batch) when storage failed. Data a store refuses as invalid is dead-lettered.
   */
  handleBatch(batch: readonly RawMessage[], options?: BatchOptions): Promise<Outcome[]>;
  /**
   * handleBatch in two halves, so a caller can validate the next batch (JavaScript work) while the store
   * writes this one (the store's own threads or server): `prepareBatch` validates and touches no storage;
   * `commitBatch` stores, routes and reports outcomes, and may be retried with the same prepared batch.
   */
  prepareBatch(batch: readonly RawMessage[]): Promise<PreparedBatch>;
  commitBatch(prepared: PreparedBatch, options?: BatchOptions): Promise<Outcome[]>;
  counters(): PipelineCounters;
}

/** A batch whose messages went through the validation steps; what `commitBatch` takes. */
export interface PreparedBatch {
  readonly size: number;
}

interface Prepared extends PreparedBatch {
  readonly ctxs: MessageContext[];
  /** Outcomes decided by validation (dead letter, ignored); undefined where the message goes on. */
  readonly validated: ReadonlyArray<Outcome | undefined>;
}

const DEFAULT_DEAD_LETTER_BYTES = 64 * 1024;
const keyOf = (m: StorableMessage) => `${m.deviceId}\u0000${m.payload.boot}\u0000${m.payload.seq}`;

export function createIngestPipeline(deps: PipelineDeps, options: PipelineOptions = {}): IngestPipeline {
  const counters = emptyCounters();
  const maxBytes = options.deadLetterMaxPayloadBytes ?? DEFAULT_DEAD_LETTER_BYTES;
  const log = options.logger;

  function toDeadLetter(ctx: MessageContext, reason: string): DeadLetter {
    const truncated = ctx.payload.byteLength > maxBytes;
    return {
      receivedAt: ctx.receivedAt,
      topic: ctx.topicName.slice(0, 1024),
      payload: ctx.payload.subarray(0, maxBytes).toString('utf8'),
      payloadBytes: ctx.payload.byteLength,
      truncated,
      reason,
      deviceId: ctx.topic?.deviceId ?? null,
    };
  }

  /** Telemetry and events of the batch, written at once; stored/duplicate per message. */
  async function storeTelemetry(ctxs: MessageContext[], outcomes: Array<Outcome | undefined>, isolatePoison: boolean, skews: BatchSkews): Promise<ReadonlySet<string>> {
    const idx: number[] = [];
    const storable: StorableMessage[] = [];
    const accepted: StorableMessage[] = [];
    ctxs.forEach((ctx, i) => {
      const m = ctx.message;
      if (outcomes[i] || !m || (m.channel !== 'telemetry' && m.channel !== 'event')) return;
      const message = { ...m, receivedAt: ctx.receivedAt } as StorableMessage;
      // Stored before, per the completeness ledger: not written again. Its original may have left the
      // store's hot tables for the archive, where the store itself could no longer find it (issue 15).
      if (deps.seen?.(m.deviceId, m.payload.boot, m.payload.seq)) {
        outcomes[i] = { kind: 'duplicate', deviceId: m.deviceId, boot: m.payload.boot, seq: m.payload.seq };
        accepted.push(message);
        return;
      }
      idx.push(i);
      storable.push(message);
    });
    if (storable.length === 0 && accepted.length === 0) return new Set();
    const results = await writeBisecting(deps.writer, storable, isolatePoison);
    const seenInBatch = new Set<string>();
    results.forEach((r, n) => {
      const m = storable[n]!;
      const { boot, seq } = m.payload;
      if (typeof r === 'object') {
        outcomes[idx[n]!] = { kind: 'dead-letter', reason: `store: ${r.rejected}` };
        return;
      }
      const key = keyOf(m);
      const known = r === 'duplicate' || seenInBatch.has(key);
      seenInBatch.add(key);
      accepted.push(m);
      outcomes[idx[n]!] = { kind: known ? 'duplicate' : 'stored', deviceId: m.deviceId, boot, seq };
    });
    await touchDevices(deps.operations, accepted, skews);
    return new Set(accepted.map((m) => m.deviceId));
  }

  async function prepareBatch(batch: readonly RawMessage[]): Promise<Prepared> {
    const ctxs: MessageContext[] = new Array(batch.length);
    const validated: Array<Outcome | undefined> = new Array(batch.length);
    const todo: number[] = [];
    batch.forEach((m, i) => {
      const earlier = m.lsn !== undefined && !m.replayed ? options.validatedEarlier?.(m.lsn) : undefined;
      if (earlier) {
        ctxs[i] = earlier.ctx;
        validated[i] = earlier.outcome;
        return;
      }
      ctxs[i] = { topicName: m.topic, payload: m.payload, receivedAt: m.receivedAt, ...(m.replayed ? { fromEarlierRun: true } : {}) };
      todo.push(i);
    });
    for (const i of todo) validated[i] = validateMessage(ctxs[i]!, deps);
    return { size: batch.length, ctxs, validated };
  }

  async function commitBatch(prepared: PreparedBatch, batchOptions: BatchOptions = {}): Promise<Outcome[]> {
    const { ctxs, validated } = prepared as Prepared;
    // A copy: a failed attempt must leave the prepared batch as validation left it, for the retry.
    const outcomes: Array<Outcome | undefined> = [...validated];
    const skews = latestClockSkews(ctxs);
    try {
      const touched = await storeTelemetry(ctxs, outcomes, batchOptions.isolatePoison ?? false, skews);
      for (const [i, ctx] of ctxs.entries()) {
        outcomes[i] ??= (await routeStep(ctx, deps)) ?? { kind: 'dead-letter', reason: 'pipeline: no step produced an outcome' };
        const o = outcomes[i]!;
        if (o.kind === 'dead-letter') {
          await deps.operations.addDeadLetter(toDeadLetter(ctx, o.reason));
          log?.warn({ event: 'dead_letter', topic: ctx.topicName.slice(0, 256), reason: o.reason.slice(0, 512), bytes: ctx.payload.byteLength }, 'message dead-lettered');
        }
      }
      await recordOtherClockSkews(deps.operations, skews, touched);
    } catch (err) {
      counters.storageErrors++;
      throw err;
    }
    const done = outcomes as Outcome[];
    for (const [i, o] of done.entries()) {
      counters.received++;
      counters.byOutcome[o.kind]++;
      try {
        options.onOutcome?.(o, ctxs[i]!);
      } catch (err) {
        // The outcome is durable already; a failing observer must not make the batch look failed (and retried).
        log?.error({ event: 'on_outcome_failed', err }, 'an outcome observer failed');
      }
    }
    return done;
  }

  const handleBatch = async (batch: readonly RawMessage[], batchOptions: BatchOptions = {}) => commitBatch(await prepareBatch(batch), batchOptions);

  return {
    handle: async (topic, payload, receivedAt = deps.clock()) => (await handleBatch([{ topic, payload, receivedAt }]))[0]!,
    handleBatch,
    prepareBatch,
    commitBatch,
    counters: () => structuredClone(counters),
  };
}
