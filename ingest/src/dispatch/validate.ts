import type { Outcome } from './outcome.js';
import { validateMessage, type MessageContext, type ValidationDeps } from './steps.js';

/** A message as the broker delivered it (and as the journal keeps it). */
export interface RawMessage {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** Journalled by an earlier run of the ingest and replayed after a restart (ReadRecord.replayed). */
  replayed?: boolean;
}

/** Messages that went through the validation steps, in order: what the store batch takes. */
export interface ValidatedBatch {
  readonly size: number;
  readonly ctxs: readonly MessageContext[];
  /** What validation decided (dead letter), per message; undefined where the message goes on to the store. */
  readonly verdicts: ReadonlyArray<Outcome | undefined>;
}

/** Runs every message of `batch` through the validation steps (steps.ts); touches no storage. */
export function validateBatch(batch: readonly RawMessage[], deps: ValidationDeps): ValidatedBatch {
  const ctxs: MessageContext[] = new Array(batch.length);
  const verdicts: Array<Outcome | undefined> = new Array(batch.length);
  for (const [i, m] of batch.entries()) {
    const ctx: MessageContext = { topicName: m.topic, payload: m.payload, receivedAt: m.receivedAt, ...(m.replayed ? { fromEarlierRun: true } : {}) };
    ctxs[i] = ctx;
    verdicts[i] = validateMessage(ctx, deps);
  }
  return { size: batch.length, ctxs, verdicts };
}

/** Messages `start` to `end` (exclusive) of a validated batch. */
export function sliceBatch(b: ValidatedBatch, start: number, end = b.size): ValidatedBatch {
  const ctxs = b.ctxs.slice(start, end);
  return { size: ctxs.length, ctxs, verdicts: b.verdicts.slice(start, end) };
}

/** Validated batches one after the other, as one. */
export function joinBatches(list: readonly ValidatedBatch[]): ValidatedBatch {
  if (list.length === 1) return list[0]!;
  const ctxs = list.flatMap((b) => b.ctxs);
  return { size: ctxs.length, ctxs, verdicts: list.flatMap((b) => b.verdicts) };
}
