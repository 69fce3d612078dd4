/**
 * The Parquet archive: raw rows older than RAW_RETENTION_DAYS leave the hot tables for plain Parquet files
 * under `$DATA_DIR/archive/`, one directory per kind of row and UTC day, written by DuckDB:
 *
 *     archive/samples/water-meter/day=2026-11-01/part-1795046400000.parquet
 *     archive/messages/day=2026-11-01/part-….parquet
 *     archive/events/day=2026-11-01/part-….parquet
 *
 * Rows are sorted by device and time (ZSTD, Parquet 2 encodings), so a device's rows sit together and
 * readers skip the rest by row-group statistics. Data that arrives for a day already archived is archived
 * later as another part of that day. Every part is listed in `archive_parts`, in the same transaction that
 * deletes its rows from the hot table: a file not listed (a crash between writing and committing) is not
 * part of the archive and is removed at the next open, while its rows are still hot.
 *
 * `rawSource` gives queries the hot rows and the archived ones of a time range as one relation: the API
 * reads older ranges through it with the same results (ingest/README.md "History").
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { toNumber, type Row, type Transaction } from '../database.js';
import { quoteIdent, SAMPLE_TABLES } from '../sample-columns.js';
import { DAY_MS, isoDay } from './local-time.js';

export type ArchiveKind = `samples/${DeviceType}` | 'messages' | 'events';

export const ARCHIVE_KINDS: readonly ArchiveKind[] = [...(Object.keys(SAMPLE_TABLES) as DeviceType[]).map((t): ArchiveKind => `samples/${t}`), 'messages', 'events'];

export function tableOf(kind: ArchiveKind): string {
  if (kind === 'messages' || kind === 'events') return kind;
  return SAMPLE_TABLES[kind.slice('samples/'.length) as DeviceType];
}

/** How a kind's rows are sorted in its files: device, then time, then what orders rows of one instant. */
function orderOf(kind: ArchiveKind): string {
  if (kind === 'samples/ring-node') return 'device_id, ts, boot, seq, idx, segment_id';
  if (kind.startsWith('samples/')) return 'device_id, ts, boot, seq, idx';
  return 'device_id, ts, boot, seq';
}

export interface ArchivePart {
  file: string;
  kind: ArchiveKind;
  /** UTC day number. */
  day: number;
  rows: number;
  minTs: number;
  maxTs: number;
}

const PART_FILE = /^part-\d+\.parquet(\.tmp)?$/;
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** What the archive holds, in memory (loaded at open, kept in step by the archiver). */
export class ArchiveCatalog {
  private readonly parts = new Map<string, ArchivePart>();

  constructor(readonly root: string) {}

  static fromRows(root: string, rows: readonly Row[]): ArchiveCatalog {
    const c = new ArchiveCatalog(root);
    for (const r of rows) c.add({ file: String(r.file), kind: r.kind as ArchiveKind, day: toNumber(r.day_number)!, rows: toNumber(r.rows)!, minTs: toNumber(r.min_ts)!, maxTs: toNumber(r.max_ts)! });
    return c;
  }

  add(p: ArchivePart): void {
    this.parts.set(p.file, p);
  }

  remove(file: string): void {
    this.parts.delete(file);
  }

  all(): ArchivePart[] {
    return [...this.parts.values()];
  }

  /** Parts of `kind` holding rows in [from, to) (epoch ms). */
  overlapping(kind: ArchiveKind, from: number, to: number): ArchivePart[] {
    return this.all().filter((p) => p.kind === kind && p.maxTs >= from && p.minTs < to).sort((a, b) => a.minTs - b.minTs || a.file.localeCompare(b.file));
  }

  path(p: Pick<ArchivePart, 'file'>): string {
    return join(this.root, p.file);
  }

  /**
   * The rows of `kind` in [from, to), hot and archived, as one relation (same columns as the hot table);
   * `where` (SQL over its columns) is applied on both sides so Parquet row groups are skipped by it.
   */
  rawSource(kind: ArchiveKind, from: number, to: number, where = 'true'): string {
    const range = `ts >= epoch_ms(${Math.trunc(from)}::BIGINT) AND ts < epoch_ms(${Math.trunc(to)}::BIGINT)`;
    const hot = `SELECT * FROM ${tableOf(kind)} WHERE ${range} AND (${where})`;
    const files = this.overlapping(kind, from, to).map((p) => sqlString(this.path(p)));
    if (files.length === 0) return hot;
    // BY NAME: a file written before a column was added to the table reads that column as NULL.
    return `${hot} UNION ALL BY NAME SELECT * FROM read_parquet([${files.join(', ')}]) WHERE ${range} AND (${where})`;
  }

  /** Removes files under the root that the manifest does not list (left by a crash mid-archive). */
  removeOrphans(): string[] {
    const removed: string[] = [];
    const walk = (dir: string) => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of entries) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (PART_FILE.test(name) && !this.parts.has(relative(this.root, path).split(sep).join('/'))) {
          rmSync(path, { force: true });
          removed.push(path);
        }
      }
    };
    walk(this.root);
    return removed;
  }
}

export const CATALOG_SQL = `SELECT file, kind, (day - DATE '1970-01-01')::INTEGER AS day_number, rows, epoch_ms(min_ts) AS min_ts, epoch_ms(max_ts) AS max_ts FROM archive_parts`;

/**
 * Moves the rows of `kind` stamped on UTC day `day` into a new Parquet part, inside `tx` (the caller's
 * transaction, committed after this returns). Returns the part, or undefined when there was nothing to move.
 */
export async function archiveDay(tx: Pick<Transaction, 'run' | 'all'>, catalog: ArchiveCatalog, kind: ArchiveKind, day: number, now: number): Promise<ArchivePart | undefined> {
  const from = day * DAY_MS;
  const range = `ts >= epoch_ms(${from}::BIGINT) AND ts < epoch_ms(${from + DAY_MS}::BIGINT)`;
  const table = tableOf(kind);
  const times = (await tx.all(`SELECT column_name AS c FROM duckdb_columns() WHERE table_name = ${sqlString(table)} AND data_type = 'TIMESTAMP' AND NOT internal ORDER BY column_index`)).map((r) => quoteIdent(String(r.c)));
  const whole = times.map((c, i) => `coalesce(bool_and(epoch_us(${c}) % 1000 = 0), true) AS ms${i}`);
  const [stats] = await tx.all(`SELECT count(*) AS n, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi, ${whole.join(', ')} FROM ${table} WHERE ${range}`);
  const rows = toNumber(stats?.n) ?? 0;
  if (rows === 0) return undefined;
  const file = `${kind}/day=${isoDay(day)}/part-${now}.parquet`;
  const part: ArchivePart = { file, kind, day, rows, minTs: toNumber(stats!.lo)!, maxTs: toNumber(stats!.hi)! };
  const path = catalog.path(part);
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp`;
  // Times as devices and the ingest stamp them, in milliseconds, when no value is finer (it would be lost):
  // a message's arrival time in microseconds took 4.3 bytes a row, 3.4 in milliseconds. Read back as TIMESTAMP.
  const inMs = times.filter((_, i) => stats![`ms${i}`] === true).map((c) => `${c}::TIMESTAMP_MS AS ${c}`);
  const select = inMs.length > 0 ? `SELECT * REPLACE (${inMs.join(', ')}) FROM ${table}` : `SELECT * FROM ${table}`;
  await tx.run(`COPY (${select} WHERE ${range} ORDER BY ${orderOf(kind)}) TO ${sqlString(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD, PARQUET_VERSION V2)`);
  renameSync(tmp, path);
  try {
    await tx.run(`DELETE FROM ${table} WHERE ${range}`);
    await tx.run(`INSERT INTO archive_parts VALUES (${sqlString(file)}, ${sqlString(kind)}, DATE '1970-01-01' + ${day}, ${rows}, epoch_ms(${part.minTs}::BIGINT), epoch_ms(${part.maxTs}::BIGINT), epoch_ms(${now}::BIGINT))`);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return part;
}
