/**
 * Raw rows of closed days as Parquet files, in two tiers (issue 15, disk per reading):
 *
 *     hot/samples/water-meter/day=2026-11-01/part-1795046400000.parquet       segments: closed days
 *     archive/samples/water-meter/day=2026-08-01/part-….parquet               the archive: past RAW_RETENTION_DAYS
 *     hot/messages/day=…, hot/events/day=…, archive/messages/day=…, archive/events/day=…
 *
 * The open days (today and yesterday, UTC), where live and late data land, stay in DuckDB's tables. DuckDB
 * compresses a table in groups of 2,048 values that span many devices, so ids, times and registers barely
 * compress there (~10–12 bytes a reading, sorted or not); a closed day's rows sorted by device and time in
 * Parquet (run-length ids, delta-coded times and registers, ZSTD) take ~2.1 a sample and ~3.4 a message
 * key, and one device's day is found by row-group statistics. So each closed day moves to a segment
 * (prepareDayPart, written beside the writer's batches, then commitDayPart), and a segment moves to the
 * archive once past RAW_RETENTION_DAYS (moveToArchive). Data arriving for a closed day lands in the hot
 * tables and becomes another part of that day at the next run.
 *
 * Every part is listed in its tier's manifest, in the same transaction that deletes its rows from the hot
 * table: a file not listed (a crash between writing and committing) is not part of the store and is removed
 * at the next open, while its rows are still hot.
 *
 * `rawSource` gives queries the hot rows, the segments and the archive of a time range as one relation:
 * the API, exports and the water figures read every range through it with the same results
 * (ingest/README.md "History").
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { canSnapshot, toNumber, type Row, type SqlReader, type Transaction } from '../database.js';
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

/**
 * The two tiers of Parquet files, both written here, the same way (sorted, ZSTD, times in ms):
 * - `segment`: a closed UTC day's raw rows, still "hot" (within RAW_RETENTION_DAYS), under `$DATA_DIR/hot/`;
 * - `archive`: days past RAW_RETENTION_DAYS, under `$DATA_DIR/archive/`, the analysts' data lake, deleted
 *   past ARCHIVE_RETENTION_DAYS (segments never are).
 * Each tier has its manifest table; a part moves from one to the other by a hard link, one transaction that
 * unlists it from one and lists it in the other, then the removal of the old name (moveToArchive).
 */
export type Tier = 'segment' | 'archive';
export const TIERS: readonly Tier[] = ['segment', 'archive'];
export const TIER_DIR: Readonly<Record<Tier, string>> = { segment: 'hot', archive: 'archive' };
export const TIER_TABLE: Readonly<Record<Tier, string>> = { segment: 'segment_parts', archive: 'archive_parts' };

export interface ArchivePart {
  tier: Tier;
  /** Path under the tier's directory. */
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
const keyOf = (p: Pick<ArchivePart, 'tier' | 'file'>) => `${p.tier}:${p.file}`;

/**
 * `store_meta` key: how many day parts have left the hot tables (commitDayPart), counted in the same
 * transaction that deletes their rows, so a reader's snapshot tells which list of parts matches it.
 */
export const PARTS_MOVED_KEY = 'raw_day_parts_moved';

/** What the segments and the archive hold, in memory (loaded at open, kept in step by the store). */
export class ArchiveCatalog {
  /**
   * Replaced, never changed in place: a list handed to a read (asSeenBy) stays the one its snapshot agrees
   * with while the store's own moves on.
   */
  private parts: ReadonlyMap<string, ArchivePart>;
  /** Day parts committed out of the hot tables (PARTS_MOVED_KEY) that this list includes. */
  moved = 0;

  /** `dataDir`: the directory holding both tiers (`:memory:` for a store without one). */
  constructor(
    readonly dataDir: string,
    parts: ReadonlyMap<string, ArchivePart> = new Map(),
  ) {
    this.parts = parts;
  }

  static fromRows(dataDir: string, rows: readonly Row[]): ArchiveCatalog {
    const parts = rows.map((r): ArchivePart => ({ tier: r.tier as Tier, file: String(r.file), kind: r.kind as ArchiveKind, day: toNumber(r.day_number)!, rows: toNumber(r.rows)!, minTs: toNumber(r.min_ts)!, maxTs: toNumber(r.max_ts)! }));
    return new ArchiveCatalog(dataDir, new Map(parts.map((p) => [keyOf(p), p])));
  }

  /** The directory of a tier. */
  root(tier: Tier): string {
    return join(this.dataDir, TIER_DIR[tier]);
  }

  add(p: ArchivePart): void {
    this.parts = new Map(this.parts).set(keyOf(p), p);
  }

  /** `p` listed by commitDayPart, whose transaction has committed: its rows are no longer hot. */
  committed(p: ArchivePart): void {
    this.add(p);
    this.moved++;
  }

  /**
   * The parts as the snapshot of `q` (a read inside a transaction: SnapshotReader) sees them, as a list of
   * their own: this one as it is now, unless a day part left the hot tables between that snapshot and now
   * (or has committed and is not listed here yet); then the manifests as `q` sees them. Raw rows read
   * through it in the same snapshot are read once, from the table or from the file: a read planned from
   * this list just before a day moved, and run just after, missed that day.
   */
  async asSeenBy(q: SqlReader): Promise<ArchiveCatalog> {
    const [row] = await q.all(`SELECT value FROM store_meta WHERE key = ${sqlString(PARTS_MOVED_KEY)}`);
    const seen = Number(row?.value ?? 0);
    const view = seen === this.moved ? new ArchiveCatalog(this.dataDir, this.parts) : ArchiveCatalog.fromRows(this.dataDir, await q.all(CATALOG_SQL));
    view.moved = seen;
    return view;
  }

  remove(p: Pick<ArchivePart, 'tier' | 'file'>): void {
    const next = new Map(this.parts);
    next.delete(keyOf(p));
    this.parts = next;
  }

  has(p: Pick<ArchivePart, 'tier' | 'file'>): boolean {
    return this.parts.has(keyOf(p));
  }

  /** Every part, or a tier's. */
  all(tier?: Tier): ArchivePart[] {
    const all = [...this.parts.values()];
    return tier ? all.filter((p) => p.tier === tier) : all;
  }

  /** Parts of `kind` holding rows in [from, to) (epoch ms), both tiers. */
  overlapping(kind: ArchiveKind, from: number, to: number): ArchivePart[] {
    return this.all().filter((p) => p.kind === kind && p.maxTs >= from && p.minTs < to).sort((a, b) => a.minTs - b.minTs || a.file.localeCompare(b.file));
  }

  path(p: Pick<ArchivePart, 'tier' | 'file'>): string {
    return join(this.root(p.tier), p.file);
  }

  /**
   * The rows of `kind` in [from, to), in the hot table, the segments and the archive, as one relation (same
   * columns as the hot table); `where` (SQL over its columns) is applied on every side so Parquet row groups
   * are skipped by it.
   */
  rawSource(kind: ArchiveKind, from: number, to: number, where = 'true'): string {
    const range = `ts >= epoch_ms(${Math.trunc(from)}::BIGINT) AND ts < epoch_ms(${Math.trunc(to)}::BIGINT)`;
    const hot = `SELECT * FROM ${tableOf(kind)} WHERE ${range} AND (${where})`;
    const files = this.overlapping(kind, from, to).map((p) => sqlString(this.path(p)));
    if (files.length === 0) return hot;
    // BY NAME: a file written before a column was added to the table reads that column as NULL.
    return `${hot} UNION ALL BY NAME SELECT * FROM read_parquet([${files.join(', ')}]) WHERE ${range} AND (${where})`;
  }

  /** Removes files under the tiers' directories that their manifest does not list (a crash mid-write or mid-move). */
  removeOrphans(): string[] {
    const removed: string[] = [];
    for (const tier of TIERS) {
      const root = this.root(tier);
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
          else if (PART_FILE.test(name) && !this.has({ tier, file: relative(root, path).split(sep).join('/') })) {
            rmSync(path, { force: true });
            removed.push(path);
          }
        }
      };
      walk(root);
    }
    return removed;
  }
}

/**
 * Runs `read` with the parts list that agrees with its reads: inside one snapshot of `db` (a SnapshotReader,
 * as the API's read pool is) and that snapshot's list (asSeenBy), so each raw row is read once even while
 * its day moves to a segment. A reader without snapshots reads with the catalog as it is.
 */
export function readRaw<T>(db: SqlReader, catalog: ArchiveCatalog, read: (parts: ArchiveCatalog, q: SqlReader) => Promise<T>): Promise<T> {
  if (!canSnapshot(db)) return read(catalog, db);
  return db.snapshot(async (q) => read(await catalog.asSeenBy(q), q));
}

/** Both manifests, tier by tier. */
export const CATALOG_SQL = TIERS.map((t) => `SELECT '${t}' AS tier, file, kind, (day - DATE '1970-01-01')::INTEGER AS day_number, rows, epoch_ms(min_ts) AS min_ts, epoch_ms(max_ts) AS max_ts FROM ${TIER_TABLE[t]}`).join(' UNION ALL ');

/** Lists `part` in its tier's manifest. */
const listPart = (tx: Pick<Transaction, 'run'>, p: ArchivePart, now: number) =>
  tx.run(`INSERT INTO ${TIER_TABLE[p.tier]} VALUES (${sqlString(p.file)}, ${sqlString(p.kind)}, DATE '1970-01-01' + ${p.day}, ${p.rows}, epoch_ms(${p.minTs}::BIGINT), epoch_ms(${p.maxTs}::BIGINT), epoch_ms(${now}::BIGINT))`);

const dayRange = (day: number) => `ts >= epoch_ms(${day * DAY_MS}::BIGINT) AND ts < epoch_ms(${(day + 1) * DAY_MS}::BIGINT)`;

/**
 * Writes the rows of `kind` stamped on UTC day `day`, as `q` sees them, into a new Parquet file of `tier`
 * (not listed yet: commitDayPart does that). Returns the part, or undefined when there was nothing to write.
 * `q` may be a connection of its own (DuckDbDatabase.fork): the sort and the write then keep no
 * transaction of the writer's waiting (a day of 130,000 meters takes tens of seconds).
 */
export async function prepareDayPart(q: Pick<Transaction, 'run' | 'all'>, catalog: ArchiveCatalog, tier: Tier, kind: ArchiveKind, day: number, now: number): Promise<ArchivePart | undefined> {
  const range = dayRange(day);
  const table = tableOf(kind);
  const times = (await q.all(`SELECT column_name AS c FROM duckdb_columns() WHERE table_name = ${sqlString(table)} AND data_type = 'TIMESTAMP' AND NOT internal ORDER BY column_index`)).map((r) => quoteIdent(String(r.c)));
  const whole = times.map((c, i) => `coalesce(bool_and(epoch_us(${c}) % 1000 = 0), true) AS ms${i}`);
  const [stats] = await q.all(`SELECT count(*) AS n, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi, ${whole.join(', ')} FROM ${table} WHERE ${range}`);
  const rows = toNumber(stats?.n) ?? 0;
  if (rows === 0) return undefined;
  const part: ArchivePart = { tier, file: freeName(catalog, tier, `${kind}/day=${isoDay(day)}/part-${now}.parquet`), kind, day, rows, minTs: toNumber(stats!.lo)!, maxTs: toNumber(stats!.hi)! };
  const path = catalog.path(part);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  // Times as devices and the ingest stamp them, in milliseconds, when no value is finer (it would be lost):
  // a message's arrival time in microseconds took 4.3 bytes a row, 3.4 in milliseconds. Read back as TIMESTAMP.
  const inMs = times.filter((_, i) => stats![`ms${i}`] === true).map((c) => `${c}::TIMESTAMP_MS AS ${c}`);
  const select = inMs.length > 0 ? `SELECT * REPLACE (${inMs.join(', ')}) FROM ${table}` : `SELECT * FROM ${table}`;
  await q.run(`COPY (${select} WHERE ${range} ORDER BY ${orderOf(kind)}) TO ${sqlString(tmp)} (FORMAT PARQUET, COMPRESSION ZSTD, PARQUET_VERSION V2)`);
  renameSync(tmp, path);
  return part;
}

/**
 * Inside `tx` (the caller's transaction, committed after this returns): deletes the day's rows that
 * `prepared` holds from the hot table, lists the part and counts it moved (the caller then calls
 * `catalog.committed`). Rows are only ever added to a day meanwhile (only
 * retention deletes raw rows, and it runs one at a time), so the same count is the same rows; rows that
 * came since (late data) make the file written again, here. Returns the part listed.
 */
export async function commitDayPart(tx: Pick<Transaction, 'run' | 'all'>, catalog: ArchiveCatalog, prepared: ArchivePart, now: number): Promise<ArchivePart> {
  const range = dayRange(prepared.day);
  const table = tableOf(prepared.kind);
  let part = prepared;
  try {
    const [row] = await tx.all(`SELECT count(*) AS n FROM ${table} WHERE ${range}`);
    if ((toNumber(row?.n) ?? 0) !== prepared.rows) {
      rmSync(catalog.path(prepared), { force: true });
      part = (await prepareDayPart(tx, catalog, prepared.tier, prepared.kind, prepared.day, now))!;
    }
    await tx.run(`DELETE FROM ${table} WHERE ${range}`);
    await listPart(tx, part, now);
    await tx.run(`INSERT INTO store_meta VALUES (${sqlString(PARTS_MOVED_KEY)}, '${catalog.moved + 1}') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  } catch (err) {
    rmSync(catalog.path(part), { force: true });
    throw err;
  }
  return part;
}

/** `file`, or the first later stamp free in `tier` (listed or not). */
function freeName(catalog: ArchiveCatalog, tier: Tier, file: string): string {
  let name = file;
  for (let n = 1; catalog.has({ tier, file: name }) || existsSync(catalog.path({ tier, file: name })); n++) name = file.replace(/part-(\d+)\.parquet$/, (_, t: string) => `part-${Number(t) + n}.parquet`);
  return name;
}

/**
 * Moves segment `part` to the archive, inside `tx`: its file gets a second name under the archive (a hard
 * link: no copy, the same bytes), then the manifests swap it in the caller's transaction. The segment's
 * name is left to the caller to remove once committed (a reader that listed it may still be reading): a
 * crash before the commit leaves an unlisted archive name, after it an unlisted segment name, and the open
 * after removes either, the part listed once all along. Returns the archived part.
 */
export async function moveToArchive(tx: Pick<Transaction, 'run'>, catalog: ArchiveCatalog, part: ArchivePart, now: number): Promise<ArchivePart> {
  const archived: ArchivePart = { ...part, tier: 'archive', file: freeName(catalog, 'archive', part.file) };
  const path = catalog.path(archived);
  mkdirSync(dirname(path), { recursive: true });
  try {
    linkSync(catalog.path(part), path);
  } catch (err) {
    // A data directory split over two file systems: a copy instead.
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(catalog.path(part), `${path}.tmp`);
    renameSync(`${path}.tmp`, path);
  }
  try {
    await tx.run(`DELETE FROM ${TIER_TABLE.segment} WHERE file = ${sqlString(part.file)}`);
    await listPart(tx, archived, now);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return archived;
}
