import { MAX_TS_MS, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { LatestReading, ReadingRow, ReadingsQuery, ReadingsReader } from '../types.js';
import { toNumber, type Row, type SqlReader } from './database.js';
import { readRaw, type ArchiveCatalog, type ArchiveKind } from './history/archive.js';
import { readLatest } from './history/latest.js';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent } from './sample-columns.js';

/** A stored segment row as the contract's segment (optional fields only when reported). */
const segmentOf = (r: Record<string, unknown>) => ({
  id: r.segment_id,
  state: r.state,
  ...(r.rx_dbm === null || r.rx_dbm === undefined ? {} : { rxDbm: r.rx_dbm }),
  ...(r.supervisory === null || r.supervisory === undefined ? {} : { supervisory: r.supervisory }),
});

/** The raw rows of `kind` (hot in `table`) for device $1 in a time range, as SQL. */
type RawRows = (kind: ArchiveKind, table: string, q: Pick<ReadingsQuery, 'from' | 'to'>) => string;

/** Most segments a ring node may report per sample (contract bound), used to size the row limit. */
const MAX_SEGMENTS = 64;

function bigintColumns(type: Exclude<DeviceType, 'ring-node'>): string[] {
  return SAMPLE_COLUMNS[type].filter((c) => c.sql === 'BIGINT').map((c) => c.name);
}

/** Turns a row into the contract's sample shape: absent readings are left out, not null. */
function toReading(row: Row, numericBig: readonly string[]): ReadingRow {
  const out: ReadingRow = { boot: toNumber(row.boot)!, seq: toNumber(row.seq)!, ts: toNumber(row.ts)!, replay: row.replay === true };
  for (const [key, value] of Object.entries(row)) {
    if (key in out || value === null) continue;
    out[key] = numericBig.includes(key) ? toNumber(value) : value;
  }
  return out;
}

export interface ReadingsReaderOptions {
  /**
   * "Latest" never takes a value stamped after this (epoch ms): the server clock plus the allowed device
   * clock skew. The ingest refuses such samples (pipeline checkClockStep); this keeps one stored before
   * that check, or by another writer, from standing as the latest value for ever. Default: no bound.
   */
  latestNotAfter?: () => number;
  /**
   * The Parquet archive (history/archive.ts): ranges older than RAW_RETENTION_DAYS are read from it too,
   * with the same results. Without it only the hot tables are read.
   */
  archive?: ArchiveCatalog;
  /** Read "latest" from the latest-values table kept by the writer (history/latest.ts). Default true with an archive. */
  latestTable?: boolean;
}

export class DuckDbReadingsReader implements ReadingsReader {
  /** `db`: the read pool for the API (index.ts), or any SqlReader. */
  constructor(
    private readonly db: SqlReader,
    private readonly o: ReadingsReaderOptions = {},
  ) {}

  async readings(deviceId: string, type: DeviceType, q: ReadingsQuery): Promise<ReadingRow[]> {
    if (type === 'ring-node') return this.ringReadings(deviceId, q);
    const cols = SAMPLE_COLUMNS[type].map((c) => quoteIdent(c.name)).join(', ');
    const rows = await this.raw((source, db) =>
      db.all(
        `SELECT boot, seq, epoch_ms(ts) AS ts, replay, ${cols} FROM (${source(`samples/${type}`, SAMPLE_TABLES[type], q)})
         ORDER BY ts, boot, seq, idx LIMIT $2`,
        [deviceId, q.limit],
      ),
    );
    const big = bigintColumns(type);
    return rows.map((r) => toReading(r, big));
  }

  private async ringReadings(deviceId: string, q: ReadingsQuery): Promise<ReadingRow[]> {
    const rows = await this.raw((source, db) =>
      db.all(
        `SELECT boot, seq, idx, epoch_ms(ts) AS ts, replay, segment_id, state, rx_dbm, supervisory FROM (${source('samples/ring-node', SAMPLE_TABLES['ring-node'], q)})
         ORDER BY ts, boot, seq, idx, segment_id LIMIT $2`,
        [deviceId, q.limit * MAX_SEGMENTS],
      ),
    );
    const samples = new Map<string, ReadingRow & { segments: unknown[] }>();
    for (const r of rows) {
      const key = `${String(r.boot)}/${String(r.seq)}/${String(r.idx)}`;
      let sample = samples.get(key);
      if (!sample) {
        if (samples.size >= q.limit) break;
        sample = { boot: toNumber(r.boot)!, seq: toNumber(r.seq)!, ts: toNumber(r.ts)!, replay: r.replay === true, segments: [] };
        samples.set(key, sample);
      }
      sample.segments.push(segmentOf(r));
    }
    return [...samples.values()];
  }

  /**
   * Runs `read` with `source`: the rows of `table` for device $1 in [from, to), and of its days in segments
   * and the archive (same columns), in one snapshot with the parts list (archive.ts readRaw).
   */
  private raw<T>(read: (source: RawRows, db: SqlReader) => Promise<T>): Promise<T> {
    const archive = this.o.archive;
    if (!archive) return read((_, table, q) => `SELECT * FROM ${table} WHERE device_id = $1 AND ts >= epoch_ms(${Math.trunc(q.from)}::BIGINT) AND ts < epoch_ms(${Math.trunc(q.to)}::BIGINT)`, this.db);
    return readRaw(this.db, archive, (parts, db) => read((kind, _, q) => parts.rawSource(kind, q.from, q.to, 'device_id = $1'), db));
  }

  /**
   * The last known value of every reading, each with the time it was measured: one row of the latest
   * table (history/latest.ts), whatever the length of the history; the raw rows when it cannot say.
   */
  async latestReadings(deviceId: string, type: DeviceType): Promise<Record<string, LatestReading>> {
    if (this.o.latestTable ?? this.o.archive !== undefined) {
      const latest = await readLatest(this.db, deviceId, type, this.notAfter());
      if (latest) return latest;
    }
    return this.latestFromRaw(deviceId, type);
  }

  /**
   * The same from the raw rows up to the bound: the device's whole history, in the tables, the segments and
   * the archive (the tables hold only the open days: a meter whose newest rows are stamped past the bound
   * has its latest good value in a closed day).
   */
  private async latestFromRaw(deviceId: string, type: DeviceType): Promise<Record<string, LatestReading>> {
    const all = { from: -8.64e15, to: this.notAfter() + 1 };
    if (type === 'ring-node') {
      const rowsOf = await this.raw((source, db) =>
        db.all(
          `SELECT segment_id, arg_max(state, ts) AS state, arg_max(rx_dbm, ts) AS rx_dbm, arg_max(supervisory, ts) AS supervisory, epoch_ms(max(ts)) AS ts
           FROM (${source('samples/ring-node', SAMPLE_TABLES['ring-node'], all)}) GROUP BY segment_id ORDER BY segment_id`,
          [deviceId],
        ),
      );
      if (rowsOf.length === 0) return {};
      const ts = Math.max(...rowsOf.map((r) => toNumber(r.ts)!));
      const segments = rowsOf.map(segmentOf);
      return { segments: { value: segments, ts } };
    }
    const selects = SAMPLE_COLUMNS[type].flatMap((c, i) => {
      const col = quoteIdent(c.name);
      return [`arg_max(${col}, ts) FILTER (WHERE ${col} IS NOT NULL) AS v${i}`, `epoch_ms(max(ts) FILTER (WHERE ${col} IS NOT NULL)) AS t${i}`];
    });
    const [row] = await this.raw((source, db) => db.all(`SELECT ${selects.join(', ')} FROM (${source(`samples/${type}`, SAMPLE_TABLES[type], all)})`, [deviceId]));
    const out: Record<string, LatestReading> = {};
    SAMPLE_COLUMNS[type].forEach((c, i) => {
      const value = row?.[`v${i}`];
      if (value === null || value === undefined) return;
      out[c.name] = { value: c.sql === 'BIGINT' ? toNumber(value) : value, ts: toNumber(row?.[`t${i}`])! };
    });
    return out;
  }

  /** The contract's largest timestamp (2100-01-01) when unbounded. */
  private notAfter(): number {
    return Math.min(this.o.latestNotAfter?.() ?? MAX_TS_MS, MAX_TS_MS);
  }

  async events(deviceId: string, q: ReadingsQuery) {
    const rows = await this.raw((source, db) => db.all(`SELECT boot, seq, epoch_ms(ts) AS ts, event_type, detail FROM (${source('events', 'events', q)}) ORDER BY ts, boot, seq LIMIT $2`, [deviceId, q.limit]));
    return rows.map((r) => ({
      boot: toNumber(r.boot)!,
      seq: toNumber(r.seq)!,
      ts: toNumber(r.ts)!,
      type: String(r.event_type),
      detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as unknown) : (r.detail ?? undefined),
    }));
  }
}
