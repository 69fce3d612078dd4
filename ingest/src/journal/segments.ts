/** Segment files of the journal: `<first LSN, 16 digits>.seg`, scanned and repaired at open. */
import { open, readdir, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, type JournalRecord } from './record.js';

export interface Segment {
  /** LSN of the first record (from the file name). */
  base: number;
  path: string;
  /** Bytes of whole, valid records. */
  size: number;
  /** LSN of the last record; base - 1 when empty. */
  lastLsn: number;
}

export const segmentFileName = (base: number) => `${String(base).padStart(16, '0')}.seg`;

const READ_CHUNK = 1024 * 1024;

/**
 * Reads whole records from `fh` between byte `from` and `to`, calling `onRecord` for each until it
 * returns false or `maxRecords` were read. Returns the offset after the last record read, and why it stopped.
 */
export async function readRecords(
  fh: FileHandle,
  from: number,
  to: number,
  onRecord: (r: JournalRecord, endOffset: number) => boolean,
): Promise<{ offset: number; stop: 'end' | 'enough' | 'corrupt'; reason?: string }> {
  let offset = from;
  let buf = Buffer.alloc(0);
  let bufStart = from;
  let readPos = from;
  while (true) {
    let result = decodeRecord(buf, offset - bufStart);
    while (result.kind === 'record') {
      offset += result.bytes;
      if (!onRecord(result.record, offset)) return { offset, stop: 'enough' };
      result = decodeRecord(buf, offset - bufStart);
    }
    if (result.kind === 'corrupt') return { offset, stop: 'corrupt', reason: result.reason };
    if (readPos >= to) return { offset, stop: 'end' };
    // Keep the unread tail and append the next chunk (a record may span chunks).
    const want = Math.min(READ_CHUNK, to - readPos);
    const chunk = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(chunk, 0, want, readPos);
    if (bytesRead === 0) return { offset, stop: 'end' };
    buf = Buffer.concat([buf.subarray(offset - bufStart), chunk.subarray(0, bytesRead)]);
    bufStart = offset;
    readPos += bytesRead;
  }
}

export interface ScanProblem {
  path: string;
  offset: number;
  reason: string;
  /** Bytes cut from the end of the last segment (a write torn by a crash), or left unread in an older one. */
  bytes: number;
}

/**
 * Lists the segments in `dir` in LSN order and validates every record. The last segment's torn tail (a
 * write cut by a crash: never acknowledged, since it was not fsync'd) is truncated away. A bad record in
 * an older segment means the disk corrupted acknowledged data: it is reported, and the rest of that
 * segment is skipped so the journal can go on.
 */
export async function scanSegments(dir: string, onProblem: (p: ScanProblem) => void): Promise<Segment[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{16}\.seg$/.test(n)).sort();
  const segments: Segment[] = [];
  for (const [i, name] of names.entries()) {
    const path = join(dir, name);
    const base = Number(name.slice(0, 16));
    const fileSize = (await stat(path)).size;
    const fh = await open(path, 'r');
    let lastLsn = base - 1;
    let result;
    try {
      result = await readRecords(fh, 0, fileSize, (r) => {
        lastLsn = r.lsn;
        return true;
      });
    } finally {
      await fh.close();
    }
    if (result.offset < fileSize) {
      const isLast = i === names.length - 1;
      onProblem({ path, offset: result.offset, reason: result.reason ?? 'torn record at the end', bytes: fileSize - result.offset });
      if (isLast) await truncate(path, result.offset);
    }
    segments.push({ base, path, size: result.offset, lastLsn });
  }
  return segments;
}

/**
 * Creates (or empties) the segment file at `path` for appending, and makes its directory entry durable,
 * or a crash could lose the whole segment. Only ever called for a segment whose first LSN is above every
 * durable one, so whatever an earlier failed attempt left under that name was never acknowledged.
 */
export async function createSegmentFile(dir: string, path: string, openFile: (path: string, flags: string) => Promise<FileHandle>): Promise<FileHandle> {
  // 'a+': every write goes to the end, also after a failed group is cut off with truncate().
  const fh = await openFile(path, 'a+');
  try {
    await fh.truncate(0);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}
