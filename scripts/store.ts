/**
 * `npm run store -- <command>`: maintenance of the embedded store in DATA_DIR, run while the ingest is
 * stopped (DuckDB lets one process open the store).
 *
 *   rebuild-rollups [--from YYYY-MM-DD] [--to YYYY-MM-DD]   recompute rollups and latest values from raw rows
 *   archive                                                 apply retention now (segments, archive, deletions)
 *   status [--json]                                         what the store holds: tables, segments, archive
 *   compact                                                 give the space of deleted rows back to the disk
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { loadIngestConfig, openEmbeddedStore, type EmbeddedStore, type Tier } from '@tsunagaru/ingest';
import { commandHelp, runCli, UsageError, type Cli, type ParsedCommand } from './cli-support.js';

export const CLI: Cli = {
  name: 'store',
  commands: {
    'rebuild-rollups': {
      args: '',
      arity: 0,
      summary: 'recompute the hourly and daily rollups of those Japan days (default: every day with readings) from the raw readings, hot and archived, then every latest value',
      options: {
        from: { type: 'string', arg: 'YYYY-MM-DD', help: 'the first Japan day to rebuild' },
        to: { type: 'string', arg: 'YYYY-MM-DD', help: 'the last Japan day to rebuild' },
      },
    },
    archive: {
      args: '',
      arity: 0,
      summary:
        'apply retention now: close finished days, move raw rows of closed UTC days (before yesterday) to Parquet segments under DATA_DIR/hot and those older than RAW_RETENTION_DAYS to DATA_DIR/archive, delete archived days past ARCHIVE_RETENTION_DAYS and rollups past ROLLUP_RETENTION_DAYS (the ingest does this every hour by itself)',
    },
    status: { args: '', arity: 0, summary: 'rows in the tables (hot raw rows, rollups, pending rows); segments and archive apart: days, files, rows and bytes', options: { json: { type: 'boolean', help: 'as JSON' } } },
    compact: {
      args: '',
      arity: 0,
      summary:
        'rewrite the store file with what it holds (closed rollups of the layout before converted first): DuckDB reuses the space of deleted rows (days moved to segments or the archive) but never gives it back, so a store that kept 90 days in its tables keeps that size until compacted; needs free disk for a copy of what it holds',
    },
  },
  footer: `run it with the ingest stopped.
environment: DATA_DIR (default ./data), RAW_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, ROLLUP_RETENTION_DAYS,
  DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, DEVICE_CLOCK_MAX_SKEW_SEC`,
};

const DAY_MS = 86_400_000;

/** YYYY-MM-DD → its day number (what DuckDB stores a DATE as). */
function dayOf(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
  if (!Number.isFinite(t)) throw new UsageError(`--${option}: a Japan day as YYYY-MM-DD, got "${text}"`, commandHelp(CLI, 'rebuild-rollups'));
  return t / DAY_MS;
}

/** DuckDB's memory bound for this tool when DUCKDB_MEMORY_LIMIT is not set. */
const STORE_TOOL_MEMORY_LIMIT = '512MB';

const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

async function withStore<T>(fn: (store: EmbeddedStore, meters: string[]) => Promise<T>): Promise<T> {
  // A tool run on a stopped store, alone: its bulk work (rollup rebuilds, archive moves) keeps the memory
  // bound it was measured with unless DUCKDB_MEMORY_LIMIT says otherwise; the running ingest's default is
  // lower (duckdb-config.ts), for its other memory.
  const config = loadIngestConfig(process.env, { duckdb: { memoryLimit: STORE_TOOL_MEMORY_LIMIT } });
  const registry = await FileDeviceRegistry.open({ path: registryPathFor(config.dataDir), readOnly: true });
  try {
    const store = await openEmbeddedStore(config.dataDir, {
      duckdb: config.duckdb,
      history: config.history,
      latestNotAfter: () => Date.now() + config.maxClockSkewMs,
      attributes: (id) => registry.getDevice(id)?.attributes,
      log: (_level, _event, _detail, message) => process.stderr.write(`${message}\n`),
    });
    try {
      return await fn(store, registry.listDevices().filter((d) => d.type === 'water-meter').map((d) => d.id));
    } finally {
      await store.close();
    }
  } finally {
    await registry.close();
  }
}

async function rebuild(values: ParsedCommand['values']): Promise<void> {
  const [fromDay, toDay] = [dayOf('from', values.from as string | undefined), dayOf('to', values.to as string | undefined)];
  if (fromDay !== undefined && toDay !== undefined && fromDay > toDay) throw new UsageError('--from: must not be after --to', commandHelp(CLI, 'rebuild-rollups'));
  const started = performance.now();
  const { days } = await withStore((store, meters) =>
    store.history.rebuild({
      meters,
      ...(fromDay !== undefined ? { fromDay } : {}),
      ...(toDay !== undefined ? { toDay } : {}),
      onDay: (day, ms) => process.stdout.write(`${isoDay(day)}  rollups rebuilt in ${(ms / 1000).toFixed(1)} s\n`),
    }),
  );
  process.stdout.write(`rebuilt ${days} day(s) and latest values in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

async function archive(): Promise<void> {
  const r = await withStore(async (store) => {
    await store.history.closeDays();
    const result = await store.history.applyRetention();
    await store.history.fold();
    return result;
  });
  process.stdout.write(
    `moved ${r.segmented} closed day part(s) to segments; archived ${r.archived} day part(s); deleted ${r.archiveDeleted} archived part(s) past ARCHIVE_RETENTION_DAYS${r.rollupsDeleted ? '; rollups past ROLLUP_RETENTION_DAYS deleted' : ''}\n`,
  );
}

async function status(values: ParsedCommand['values']): Promise<void> {
  const report = await withStore(async (store) => {
    const tables = await store.db.all(`SELECT table_name AS name, estimated_size AS rows FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name`);
    const tier = (t: Tier) => {
      const parts = store.history.catalog.all(t);
      const bytes = parts.reduce((sum, p) => sum + statSync(store.history.catalog.path(p)).size, 0);
      return { root: store.history.catalog.root(t), parts: parts.length, days: new Set(parts.map((p) => p.day)).size, rows: parts.reduce((n, p) => n + p.rows, 0), bytes };
    };
    return {
      store: store.path,
      storeBytes: statSync(store.path).size,
      tables: Object.fromEntries(tables.map((t) => [String(t.name), Number(t.rows)])),
      segments: tier('segment'),
      archive: tier('archive'),
      settings: store.history.settings,
    };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${report.store}  ${report.storeBytes.toLocaleString('en-US')} bytes\n`);
  for (const [name, rows] of Object.entries(report.tables)) process.stdout.write(`  ${name.padEnd(34)} ${rows.toLocaleString('en-US').padStart(14)} rows (estimated)\n`);
  for (const [label, a] of [['segments (closed days, hot)', report.segments], ['archive', report.archive]] as const) {
    process.stdout.write(`${label}: ${a.root}  ${a.parts} part(s) over ${a.days} UTC day(s), ${a.rows.toLocaleString('en-US')} rows, ${a.bytes.toLocaleString('en-US')} bytes\n`);
  }
  const s = report.settings;
  process.stdout.write(`retention: raw ${s.rawRetentionDays} d (today and yesterday in tables, closed days in segments), archive ${s.archiveRetentionDays ?? 'forever'}, rollups ${s.rollupRetentionDays ?? 'forever'}\n`);
}

/**
 * Copies the store into a new file (DuckDB's COPY FROM DATABASE: tables, constraints, indexes, sequences
 * where they stood), then, once the store is closed (its WAL checkpointed), puts the copy in place with a
 * rename, so a stop at any point leaves the old file or the new one whole.
 */
async function compact(): Promise<void> {
  let before = 0;
  const path = await withStore(async (store) => {
    before = statSync(store.path).size;
    // Closed rollups of the layout before, which the ingest converts in the background, converted first.
    let converted = 0;
    for (let n = await store.history.convertRollups(); n > 0; n = await store.history.convertRollups()) converted += n;
    if (converted > 0) process.stdout.write(`converted ${converted.toLocaleString('en-US')} closed rollup day row(s) to the compact layout\n`);
    const next = `${store.path}.compact`;
    for (const f of [next, `${next}.wal`]) rmSync(f, { force: true });
    const [row] = await store.db.all('SELECT current_database() AS db');
    await store.db.run(`ATTACH '${next.replaceAll("'", "''")}' AS compacted`);
    await store.db.run(`COPY FROM DATABASE "${String(row?.db).replaceAll('"', '""')}" TO compacted`);
    await store.db.run('DETACH compacted');
    return store.path;
  });
  const next = `${path}.compact`;
  // A WAL left beside either file would be replayed onto the other one: never swap then.
  if (existsSync(`${path}.wal`) || existsSync(`${next}.wal`)) throw new Error(`compact: a WAL was left beside ${path} or its copy; the store was not replaced (${next} can be removed)`);
  renameSync(next, path);
  process.stdout.write(`compacted ${path}: ${before.toLocaleString('en-US')} → ${statSync(path).size.toLocaleString('en-US')} bytes\n`);
}

async function main({ command, values }: ParsedCommand): Promise<void> {
  switch (command) {
    case 'rebuild-rollups':
      return rebuild(values);
    case 'archive':
      return archive();
    case 'status':
      return status(values);
    case 'compact':
      return compact();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli(CLI, main);
