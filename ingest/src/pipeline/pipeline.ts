import type { Logger } from 'pino';
import type { DeadLetter } from '../storage/types.js';
import { emptyCounters, type Outcome, type PipelineCounters } from './outcome.js';
import { PIPELINE_STEPS, type MessageContext, type PipelineDeps } from './steps.js';

export interface PipelineOptions {
  /** Payload bytes kept in a dead letter; the contract's limit by default, so nothing valid-sized is cut. */
  deadLetterMaxPayloadBytes?: number;
  logger?: Logger;
  /** Called after every message with its outcome (alerts, ledgers and tests hook in here). */
  onOutcome?: (outcome: Outcome, ctx: MessageContext) => void;
}

export interface IngestPipeline {
  /**
   * Takes one MQTT message through the steps. Resolves once its outcome is durable (stored, or
   * dead-lettered); rejects only when storage failed, in which case the caller must not acknowledge the
   * message and should retry it later.
   */
  handle(topicName: string, payload: Buffer, receivedAt?: number): Promise<Outcome>;
  counters(): PipelineCounters;
}

const DEFAULT_DEAD_LETTER_BYTES = 64 * 1024;

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

  async function handle(topicName: string, payload: Buffer, receivedAt = deps.clock()): Promise<Outcome> {
    const ctx: MessageContext = { topicName, payload, receivedAt };
    let outcome: Outcome | undefined;
    try {
      for (const [, step] of PIPELINE_STEPS) {
        outcome = await step(ctx, deps);
        if (outcome) break;
      }
      outcome ??= { kind: 'dead-letter', reason: 'pipeline: no step produced an outcome' };
      if (outcome.kind === 'dead-letter') {
        await deps.operations.addDeadLetter(toDeadLetter(ctx, outcome.reason));
        log?.warn({ event: 'dead_letter', topic: ctx.topicName.slice(0, 256), reason: outcome.reason.slice(0, 512), bytes: payload.byteLength }, 'message dead-lettered');
      }
    } catch (err) {
      counters.storageErrors++;
      throw err;
    }
    counters.received++;
    counters.byOutcome[outcome.kind]++;
    options.onOutcome?.(outcome, ctx);
    return outcome;
  }

  return { handle, counters: () => structuredClone(counters) };
}
