import type { Logger } from 'pino';
import type { DeadLetter, StorableMessage } from '../storage/types.js';
import { emptyCounters, type Outcome, type PipelineCounters } from '../dispatch/outcome.js';
import { routeStep, type MessageContext, type PipelineDeps } from '../dispatch/steps.js';
import { validateBatch, type RawMessage, type ValidatedBatch } from '../dispatch/validate.js';
import { latestClockSkews, recordOtherClockSkews, touchDevices, writeBisecting, type BatchSkews } from './store-batch.js';

export type { RawMessage } from '../dispatch/validate.js';
/** A batch whose messages went through the validation steps; what `commitBatch` takes. */
export type PreparedBatch = ValidatedBatch;

export interface PipelineOptions {
  /** Payload bytes kept in a dead letter; the contract's limit by default, so nothing valid-sized is cut. */
  deadLetterMaxPayloadBytes?: number;
  logger?: Logger;
  /** Called after every message with its outcome once it is durable (commands, the state rules and tests hook in here). */
  onOutcome?: (outcome: Outcome, ctx: MessageContext) => void;
}

export interface BatchOptions {
  /** Look for a message that makes the store fail every time, and dead-letter it (see writeBisecting). */
  isolatePoison?: boolean;
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
  prepareBatch(batch: readonly RawMessage[]): PreparedBatch;
  commitBatch(prepared: PreparedBatch, options?: BatchOptions): Promise<Outcome[]>;
  counters(): PipelineCounters;
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

  /**
   * Telemetry and events of the batch, written at once; stored/duplicate per message. Their devices are
   * marked heard (last seen, boot, clock skew) before the write, so whoever reads a stored reading finds
   * its device's status of the same batch or a newer one. A message a store then refuses as invalid was
   * still heard.
   */
  async function storeTelemetry(ctxs: readonly MessageContext[], outcomes: Array<Outcome | undefined>, isolatePoison: boolean, skews: BatchSkews): Promise<ReadonlySet<string>> {
    const idx: number[] = [];
    const storable: StorableMessage[] = [];
    const inLedger: StorableMessage[] = [];
    ctxs.forEach((ctx, i) => {
      const m = ctx.message;
      if (outcomes[i] || !m || (m.channel !== 'telemetry' && m.channel !== 'event')) return;
      const message = { ...m, receivedAt: ctx.receivedAt } as StorableMessage;
      // Stored before, per the completeness ledger: not written again. Its original may have left the
      // store's hot tables for the archive, where the store itself could no longer find it (issue 15).
      if (deps.seen?.(m.deviceId, m.payload.boot, m.payload.seq)) {
        outcomes[i] = { kind: 'duplicate', deviceId: m.deviceId, boot: m.payload.boot, seq: m.payload.seq };
        inLedger.push(message);
        return;
      }
      idx.push(i);
      storable.push(message);
    });
    if (storable.length === 0 && inLedger.length === 0) return new Set();
    // Ledger duplicates were heard too (their device is alive), though they are not written again.
    const heard = [...inLedger, ...storable];
    await touchDevices(deps.operations, heard, skews);
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
      outcomes[idx[n]!] = { kind: known ? 'duplicate' : 'stored', deviceId: m.deviceId, boot, seq };
    });
    return new Set(heard.map((m) => m.deviceId));
  }

  async function commitBatch(prepared: PreparedBatch, batchOptions: BatchOptions = {}): Promise<Outcome[]> {
    const { ctxs, verdicts } = prepared;
    // A copy: a failed attempt must leave the prepared batch as validation left it, for the retry.
    const outcomes: Array<Outcome | undefined> = [...verdicts];
    const skews = latestClockSkews(ctxs);
    try {
      const touched = await storeTelemetry(ctxs, outcomes, batchOptions.isolatePoison ?? false, skews);
      // Before any dead letter is written: whoever reads one finds the clock skew its message showed.
      await recordOtherClockSkews(deps.operations, skews, touched);
      for (const [i, ctx] of ctxs.entries()) {
        outcomes[i] ??= (await routeStep(ctx, deps)) ?? { kind: 'dead-letter', reason: 'pipeline: no step produced an outcome' };
        const o = outcomes[i]!;
        if (o.kind === 'dead-letter') {
          await deps.operations.addDeadLetter(toDeadLetter(ctx, o.reason));
          log?.warn({ event: 'dead_letter', topic: ctx.topicName.slice(0, 256), reason: o.reason.slice(0, 512), bytes: ctx.payload.byteLength }, 'message dead-lettered');
        }
      }
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

  const prepareBatch = (batch: readonly RawMessage[]) => validateBatch(batch, deps);
  const handleBatch = async (batch: readonly RawMessage[], batchOptions: BatchOptions = {}) => commitBatch(prepareBatch(batch), batchOptions);

  return {
    handle: async (topic, payload, receivedAt = deps.clock()) => (await handleBatch([{ topic, payload, receivedAt }]))[0]!,
    handleBatch,
    prepareBatch,
    commitBatch,
    counters: () => structuredClone(counters),
  };
}
