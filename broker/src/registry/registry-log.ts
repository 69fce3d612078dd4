import { RegistryError } from './errors.js';
import type { RegistryChange } from './base-registry.js';
import { checkStoredDevice, checkStoredService } from './validate.js';

/**
 * The registry file format: JSON Lines, one change per line, appended and never edited in place.
 *   {"v":1,"op":"device","record":{…DeviceRecord}}
 *   {"v":1,"op":"service","record":{…ServiceAccount}}
 * The last line for an id wins. Compaction rewrites the file with one line per live record.
 */
export const LOG_FORMAT_VERSION = 1;

const NEWLINE = 0x0a;

export function encodeChange(change: RegistryChange): string {
  return `${JSON.stringify({ v: LOG_FORMAT_VERSION, op: change.op, record: change.record })}\n`;
}

/** Parses one line; throws a plain Error whose message says what is wrong with it. */
export function decodeChange(line: string): RegistryChange {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RegistryError('REGISTRY_ERR_CORRUPT', 'not valid JSON');
  }
  const entry = value as { v?: unknown; op?: unknown; record?: unknown } | null;
  if (typeof entry !== 'object' || entry === null) throw new RegistryError('REGISTRY_ERR_CORRUPT', 'not a JSON object');
  if (entry.v !== LOG_FORMAT_VERSION) throw new RegistryError('REGISTRY_ERR_CORRUPT', `unsupported format version ${JSON.stringify(entry.v)}`);
  if (entry.op === 'device') {
    checkStoredDevice(entry.record);
    return { op: 'device', record: entry.record };
  }
  if (entry.op === 'service') {
    checkStoredService(entry.record);
    return { op: 'service', record: entry.record };
  }
  throw new RegistryError('REGISTRY_ERR_CORRUPT', `unknown op ${JSON.stringify(entry.op)}`);
}

export interface ParsedLog {
  changes: RegistryChange[];
  /** Non-blank lines that parsed. */
  lineCount: number;
  /** Byte offset just past the last newline-terminated line that is kept. */
  goodBytes: number;
  /** A corrupt last line (a torn write from a crash), skipped. */
  skippedTail?: { line: number; reason: string };
  /** The last line parsed but has no trailing newline: a writer must add one before appending. */
  missingFinalNewline: boolean;
}

/**
 * Parses a whole registry file. A corrupt *last* line is what a crash mid-append leaves, so it is
 * skipped (the caller warns); a corrupt line anywhere else means the file was damaged or edited,
 * and guessing could resurrect a disabled device, so it is an error naming the line.
 */
export function parseLog(content: Buffer, path: string): ParsedLog {
  const lines = splitLines(content);
  const lastNonBlank = findLastIndex(lines, (l) => l.text.trim() !== '');
  const result: ParsedLog = { changes: [], lineCount: 0, goodBytes: 0, missingFinalNewline: false };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.text.trim() === '') {
      if (line.terminated) result.goodBytes = line.end;
      continue;
    }
    try {
      result.changes.push(decodeChange(line.text));
      result.lineCount++;
      if (line.terminated) result.goodBytes = line.end;
      else result.missingFinalNewline = true;
    } catch (err) {
      const reason = (err as Error).message;
      if (i === lastNonBlank) {
        result.skippedTail = { line: i + 1, reason };
        break;
      }
      throw new RegistryError('REGISTRY_ERR_CORRUPT', `${path}:${i + 1}: corrupt registry line (${reason}); fix or remove that line`, { cause: err });
    }
  }
  return result;
}

/**
 * Parses bytes appended since the last read. Only newline-terminated lines are consumed, since a
 * writer in another process may be half way through a line; `consumed` says how far to advance.
 */
export function parseAppended(chunk: Buffer): { changes: RegistryChange[]; consumed: number; errors: string[] } {
  const changes: RegistryChange[] = [];
  const errors: string[] = [];
  let consumed = 0;
  for (const line of splitLines(chunk)) {
    if (!line.terminated) break;
    consumed = line.end;
    if (line.text.trim() === '') continue;
    try {
      changes.push(decodeChange(line.text));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return { changes, consumed, errors };
}

interface Line {
  text: string;
  /** Byte offset just past this line (including its newline when terminated). */
  end: number;
  terminated: boolean;
}

function splitLines(content: Buffer): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < content.length) {
    const nl = content.indexOf(NEWLINE, start);
    if (nl === -1) {
      lines.push({ text: content.toString('utf8', start), end: content.length, terminated: false });
      break;
    }
    lines.push({ text: content.toString('utf8', start, nl), end: nl + 1, terminated: true });
    start = nl + 1;
  }
  return lines;
}

function findLastIndex<T>(items: T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}
