/**
 * Readings exports for analysts, straight from the embedded DuckDB store on a connection of their own
 * (DuckDbDatabase.withReader), so a long export neither waits behind nor holds up the ingest's writes:
 * CSV streamed chunk by chunk with backpressure, Parquet by DuckDB's `COPY … TO … (FORMAT PARQUET)`.
 *
 * Columns: device_id, the device's bounded attributes (dma, site, island), welfare_watch only when the
 * caller may see welfare data, ts (UTC), boot, seq, replay, then every reading under its contract name
 * (ring nodes: one row per segment with segment, state, rxDbm).
 */
import type { Writable } from 'node:stream';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { inSnapshot, type DuckDbDatabase, type SqlReader } from './database.js';
import type { ArchiveCatalog } from './history/archive.js';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent } from './sample-columns.js';

export interface ExportDevice {
  id: string;
  dma: string | null;
  site: string | null;
  island: string | null;
  /** Only read when the request carries welfare. */
  welfareWatch: boolean | null;
}

export interface ReadingsExportRequest {
  type: DeviceType;
  devices: readonly ExportDevice[];
  /** [from, to), epoch ms. */
  from: number;
  to: number;
  /** Add the welfare_watch column (roles with welfare access only, roles.ts canSeeWelfare). */
  welfare: boolean;
}

export type ExportFormat = 'csv' | 'parquet';

/** Exports readings; the API's export routes call this (ApiDeps.exports). */
export interface ReadingsExporter {
  /**
   * Writes CSV to `out` (header first), respecting backpressure. Stops early, interrupting the query and
   * releasing its connection, when `out` is closed or destroyed (the client went away). Returns the rows written.
   */
  csv(request: ReadingsExportRequest, out: Writable): Promise<number>;
  /** Writes a Parquet file at `path`; `signal` aborts the query (the client went away). */
  parquet(request: ReadingsExportRequest, path: string, signal?: AbortSignal): Promise<void>;
}

const ATTRIBUTE_COLUMNS = ['dma', 'site', 'island'] as const;

/**
 * The raw sample rows of a type in [from, to) as one relation: with issue 15's archive, the hot table and
 * the archived Parquet days (history/archive.ts rawSource), so an export of an old range is complete.
 */
export type SampleSource = (type: DeviceType, from: number, to: number) => string;

/** The export's SELECT: $1 the devices as JSON, $2 from, $3 to (epoch ms). */
export function exportQuery(r: ReadingsExportRequest, format: ExportFormat, source?: SampleSource): { sql: string; params: [string, number, number]; columns: string[] } {
  const devices = JSON.stringify(r.devices.map((d) => ({ device_id: d.id, dma: d.dma, site: d.site, island: d.island, welfare_watch: r.welfare ? d.welfareWatch : null })));
  const shape = JSON.stringify([{ device_id: 'VARCHAR', dma: 'VARCHAR', site: 'VARCHAR', island: 'VARCHAR', welfare_watch: 'BOOLEAN' }]);
  const readings: Array<[string, string]> =
    r.type === 'ring-node'
      ? [['s.segment_id', 'segment'], ['s.state', 'state'], ['s.rx_dbm', 'rxDbm']]
      : SAMPLE_COLUMNS[r.type].map((c) => [`s.${quoteIdent(c.name)}`, c.name]);
  // CSV gets ISO 8601 text; Parquet a real UTC timestamp (TIMESTAMPTZ, "adjusted to UTC").
  const ts = format === 'csv' ? `strftime(s.ts, '%Y-%m-%dT%H:%M:%S.%gZ')` : `timezone('UTC', s.ts)`;
  const select: Array<[string, string]> = [
    ['d.device_id', 'device_id'],
    ...ATTRIBUTE_COLUMNS.map((a): [string, string] => [`d.${a}`, a]),
    ...(r.welfare ? [['d.welfare_watch', 'welfare_watch'] as [string, string]] : []),
    [ts, 'ts'],
    ['s.boot', 'boot'],
    ['s.seq', 'seq'],
    ['s.replay', 'replay'],
    ...readings,
  ];
  const order = r.type === 'ring-node' ? 's.device_id, s.ts, s.boot, s.seq, s.idx, s.segment_id' : 's.device_id, s.ts, s.boot, s.seq, s.idx';
  const sql = `SELECT ${select.map(([expr, name]) => `${expr} AS ${quoteIdent(name)}`).join(', ')}
    FROM ${source ? `(${source(r.type, r.from, r.to)})` : SAMPLE_TABLES[r.type]} s JOIN (SELECT unnest(from_json($1::JSON, '${shape}'), recursive := true)) d ON s.device_id = d.device_id
    WHERE s.ts >= epoch_ms($2::BIGINT) AND s.ts < epoch_ms($3::BIGINT) ORDER BY ${order}`;
  return { sql, params: [devices, r.from, r.to], columns: select.map(([, name]) => name) };
}

/** One RFC 4180 line. Lists are written as JSON; text that a spreadsheet would run as a formula is defused with `'`. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Writes, waiting for 'drain' when the buffer is full; false once `out` is gone. */
async function write(out: Writable, text: string): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (out.write(text)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
  return !out.destroyed;
}

export class DuckDbReadingsExporter implements ReadingsExporter {
  /**
   * `reads`: where short reads run (the API's read pool); exports get a connection each (withReader).
   * `source`: the samples hot and archived (default: the hot tables alone).
   */
  constructor(
    private readonly db: DuckDbDatabase,
    private readonly reads: SqlReader = db,
    private readonly archive?: ArchiveCatalog,
  ) {}

  /**
   * Runs `fn` on a connection of its own with the export's query. With the archive, in one snapshot with
   * the parts list it is planned from (archive.ts asSeenBy): a day moving to a segment meanwhile is
   * exported once, not missed.
   */
  private planned<T>(request: ReadingsExportRequest, format: ExportFormat, fn: (connection: DuckDBConnection, q: ReturnType<typeof exportQuery>) => Promise<T>): Promise<T> {
    const archive = this.archive;
    return this.db.withReader((connection) => {
      if (!archive) return fn(connection, exportQuery(request, format));
      return inSnapshot(connection, async (q) => {
        const parts = await archive.asSeenBy(q);
        return fn(connection, exportQuery(request, format, (type, from, to) => parts.rawSource(`samples/${type}`, from, to)));
      });
    });
  }

  csv(request: ReadingsExportRequest, out: Writable): Promise<number> {
    return this.planned(request, 'csv', async (connection, { sql, params, columns }) => {
      // The query may still be sorting when the client goes: interrupt it rather than finish it for nobody.
      const gone = () => connection.interrupt();
      out.once('close', gone);
      try {
        if (out.destroyed) return 0;
        const result = await connection.stream(sql, params);
        if (!(await write(out, csvLine(columns)))) return 0;
        let rows = 0;
        for await (const batch of result.yieldRowsJson()) {
          if (!(await write(out, batch.map(csvLine).join('')))) {
            connection.interrupt();
            break;
          }
          rows += batch.length;
        }
        return rows;
      } catch (err) {
        if (out.destroyed) return 0; // interrupted because the client left: not a failure of the export
        throw err;
      } finally {
        out.off('close', gone);
      }
    });
  }

  parquet(request: ReadingsExportRequest, path: string, signal?: AbortSignal): Promise<void> {
    const target = path.replaceAll("'", "''");
    return this.planned(request, 'parquet', async (connection, { sql, params }) => {
      const abort = () => connection.interrupt();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        signal?.throwIfAborted();
        await connection.run(`COPY (${sql}) TO '${target}' (FORMAT PARQUET, COMPRESSION ZSTD)`, params);
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    });
  }
}
