import { IngestError } from '../errors.js';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { OperationsStore, StorableMessage, StorageWriter, WriteOutcome } from '../storage/types.js';
import type { MessageContext } from '../dispatch/steps.js';

export type BatchWriteResult = WriteOutcome | { rejected: string };

/** A store refused this data as invalid: retrying it cannot help, so it becomes a dead letter. */
export function isRejection(err: unknown): err is IngestError {
  return err instanceof IngestError && err.code === 'INGEST_ERR_STORE_REJECTED' && !err.canRetry();
}

/**
 * Writes a batch in one call. When the store rejects the batch as bad data (HTTP 400), the batch is split
 * in halves until the offending messages are alone; those are returned as rejected (they become dead
 * letters), the rest is stored. Any other failure is thrown: the caller retries the whole batch later,
 * which is safe because every writer is idempotent.
 *
 * With `isolatePoison` (the caller sets it once a batch has failed several times), any other failure is
 * bisected too, to find a "poison" message that fails every time while the store itself works (say, one
 * that makes a writer throw). The proof the store works is a sibling half that succeeds: a message is
 * rejected only when it fails alone and its sibling half was stored. When both halves fail, the store is
 * taken to be down and the error is thrown, so an outage costs two extra requests per attempt, not n.
 */
export async function writeBisecting(writer: StorageWriter, messages: readonly StorableMessage[], isolatePoison = false): Promise<BatchWriteResult[]> {
  if (messages.length === 0) return [];
  try {
    return await writer.write(messages);
  } catch (err) {
    const rejection = isRejection(err);
    if (!rejection && !isolatePoison) throw err;
    if (messages.length === 1) {
      if (rejection) return [{ rejected: err.message }];
      throw err;
    }
    const mid = messages.length >> 1;
    const halves = [messages.slice(0, mid), messages.slice(mid)];
    if (rejection) return [...(await writeBisecting(writer, halves[0]!)), ...(await writeBisecting(writer, halves[1]!))];
    const results = await Promise.allSettled(halves.map((h) => writer.write(h)));
    if (results.every((r) => r.status === 'rejected')) throw err;
    const out: BatchWriteResult[] = [];
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') out.push(...r.value);
      else if (halves[i]!.length === 1) out.push({ rejected: `failed alone while the rest of its batch was stored: ${(r.reason as Error).message}` });
      else out.push(...(await writeBisecting(writer, halves[i]!, true)));
    }
    return out;
  }
}

/** Each device's clock skew in a batch: from its latest message that measured one (ctx.clockSkewMs). */
export type BatchSkews = Map<string, { type: DeviceType; skewMs: number; receivedAt: number }>;

export function latestClockSkews(ctxs: readonly MessageContext[]): BatchSkews {
  const out: BatchSkews = new Map();
  for (const ctx of ctxs) {
    const m = ctx.message;
    if (!m || ctx.clockSkewMs === undefined) continue;
    const prev = out.get(m.deviceId);
    if (!prev || ctx.receivedAt >= prev.receivedAt) out.set(m.deviceId, { type: m.type, skewMs: ctx.clockSkewMs, receivedAt: ctx.receivedAt });
  }
  return out;
}

/**
 * One `touchDevice` per device per batch (last seen, highest boot, clock skew), instead of one per message.
 * Devices of `skews` that stored nothing in this batch (a birth, or readings refused for their clock) get
 * their skew recorded on its own, so a clock that makes every reading a dead letter still shows.
 */
export async function touchDevices(operations: OperationsStore, messages: readonly StorableMessage[], skews: BatchSkews = new Map()): Promise<void> {
  const latest = new Map<string, StorableMessage & { boot: number }>();
  for (const m of messages) {
    const prev = latest.get(m.deviceId);
    const boot = Math.max(prev?.boot ?? 0, m.payload.boot);
    if (!prev || m.receivedAt >= prev.receivedAt) latest.set(m.deviceId, { ...m, boot });
    else prev.boot = boot;
  }
  const list = [...latest.values()].map((m) => ({ deviceId: m.deviceId, type: m.type, seenAt: m.receivedAt, boot: m.boot, clockSkewMs: skews.get(m.deviceId)?.skewMs ?? null }));
  if (operations.touchDevices) await operations.touchDevices(list);
  else for (const t of list) await operations.touchDevice(t.deviceId, t.type, t.seenAt, t.boot);
}

/** The skews of devices that `touchDevices` did not cover (see there). */
export async function recordOtherClockSkews(operations: OperationsStore, skews: BatchSkews, touched: ReadonlySet<string>): Promise<void> {
  const rest = [...skews].filter(([id]) => !touched.has(id)).map(([deviceId, s]) => ({ deviceId, type: s.type, clockSkewMs: s.skewMs }));
  if (rest.length > 0) await operations.recordClockSkews?.(rest);
}
