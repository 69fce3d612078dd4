import type { FileHandle } from 'node:fs/promises';
import { IngestError } from '../errors.js';

/** The records of one group commit and the one promise they share (settled by that commit). */
export interface Group {
  bufs: Buffer[];
  firstLsn: number;
  lastLsn: number;
  bytes: number;
  durable: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function newGroup(firstLsn: number): Group {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const durable = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  durable.catch(() => undefined); // the caller may only look at it later
  return { bufs: [], firstLsn, lastLsn: firstLsn, bytes: 0, durable, resolve, reject };
}

/**
 * Writes the whole group and fdatasyncs it; throws, naming the phase, if either fails. libuv writes every
 * buffer or stops at the first error and returns what it wrote without the error: a short count is a
 * failed write (ENOSPC, EIO), never a partial success to build on.
 */
export async function writeGroup(fh: FileHandle, group: Group): Promise<void> {
  let bytesWritten: number;
  try {
    ({ bytesWritten } = await fh.writev(group.bufs));
  } catch (err) {
    throw new GroupWriteError('write', err as Error);
  }
  if (bytesWritten !== group.bytes) throw new GroupWriteError('write', new IngestError('INGEST_ERR_JOURNAL', `short write: ${bytesWritten} of ${group.bytes} bytes reached the file (disk full or failing)`));
  try {
    await fh.datasync();
  } catch (err) {
    throw new GroupWriteError('fsync', err as Error);
  }
}

export class GroupWriteError extends IngestError {
  constructor(
    /** After a failed fsync the file's pages cannot be trusted (they may be marked clean but lost). */
    readonly phase: 'write' | 'fsync',
    readonly reason: Error,
  ) {
    super('INGEST_ERR_JOURNAL', reason.message, { cause: reason });
  }
}
