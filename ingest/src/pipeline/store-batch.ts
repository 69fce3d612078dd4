import { IngestError } from '../errors.js';
import type { OperationsStore, StorableMessage, StorageWriter, WriteOutcome } from '../storage/types.js';

export type BatchWriteResult = WriteOutcome | { rejected: string };

/** A store refused this data as invalid: retrying it cannot help, so it becomes a dead letter. */
export function isRejection(err: unknown): err is IngestError {
  return err instanceof IngestError && err.code === 'INGEST_ERR_STORE_REJECTED' && !err.retriable;
}

/**
 * Writes a batch in one call. When the store rejects the batch as bad data (HTTP 400), the batch is split
 * in halves until the offending messages are alone; those are returned as rejected (they become dead
 * letters), the rest is stored. Any other failure is thrown: the caller retries the whole batch later,
 * which is safe because every writer is idempotent.
 */
export async function writeBisecting(writer: StorageWriter, messages: readonly StorableMessage[]): Promise<BatchWriteResult[]> {
  if (messages.length === 0) return [];
  try {
    return await writer.write(messages);
  } catch (err) {
    if (!isRejection(err)) throw err;
    if (messages.length === 1) return [{ rejected: err.message }];
    const mid = messages.length >> 1;
    return [...(await writeBisecting(writer, messages.slice(0, mid))), ...(await writeBisecting(writer, messages.slice(mid)))];
  }
}

/** One `touchDevice` per device per batch (last seen, highest boot), instead of one per message. */
export async function touchDevices(operations: OperationsStore, messages: readonly StorableMessage[]): Promise<void> {
  const latest = new Map<string, StorableMessage & { boot: number }>();
  for (const m of messages) {
    const prev = latest.get(m.deviceId);
    const boot = Math.max(prev?.boot ?? 0, m.payload.boot);
    if (!prev || m.receivedAt >= prev.receivedAt) latest.set(m.deviceId, { ...m, boot });
    else prev.boot = boot;
  }
  const list = [...latest.values()].map((m) => ({ deviceId: m.deviceId, type: m.type, seenAt: m.receivedAt, boot: m.boot }));
  if (operations.touchDevices) await operations.touchDevices(list);
  else for (const t of list) await operations.touchDevice(t.deviceId, t.type, t.seenAt, t.boot);
}
