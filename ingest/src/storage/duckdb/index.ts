import { AsyncLocalStorage } from 'node:async_hooks';
import { DuckDbDatabase, type SqlReader } from './database.js';
import type { ArchiveCatalog } from './history/archive.js';
import { StoreHistory, type AttributesOf, type HistorySettings } from './history/index.js';
import { HistoryMaintenance, type MaintenanceLog } from './history/maintenance.js';
import { HistoryReader } from './history/series.js';
import { DuckDbFigureBook } from './history/water-figures.js';
import type { WaterReader } from '../../water/registers.js';
import { DEFAULT_DUCKDB_SETTINGS, type DuckDbSettings } from './duckdb-config.js';
import { DuckDbOperationsStore, type OperationsStoreOptions } from './operations.js';
import { DuckDbOperationsReader } from './operations-reader.js';
import { DuckDbReadPool } from './read-pool.js';
import { DuckDbReadingsReader, type ReadingsReaderOptions } from './readings.js';
import { DuckDbWriter } from './writer.js';

export interface EmbeddedStore {
  writer: DuckDbWriter;
  operations: DuckDbOperationsStore;
  /** Readings, read through `pool`. */
  readings: DuckDbReadingsReader;
  /** The API's reads, on connections of their own (read-pool.ts), never queued behind the drainer. */
  api: {
    pool: DuckDbReadPool;
    operations: DuckDbOperationsReader;
    readings: DuckDbReadingsReader;
    history: HistoryReader;
    /** The water figures' reads (ingest/src/water): the pool, with the water meters' readings hot and archived. */
    water: WaterReader;
  };
  /** The database itself, for parts that keep their own tables in it (the alert engine). */
  db: DuckDbDatabase;
  /** Latest values, rollups, the Parquet archive and retention (history/index.ts). */
  history: StoreHistory;
  /** Folds, closing days, retention: started by the service (not by tests unless they ask). */
  maintenance: HistoryMaintenance;
  path: string;
  close(): Promise<void>;
}

export interface EmbeddedStoreOptions extends OperationsStoreOptions, ReadingsReaderOptions {
  /** DuckDB memory_limit and threads, the API's readers (duckdb-config.ts); default DEFAULT_DUCKDB_SETTINGS. */
  duckdb?: DuckDbSettings;
  /** RAW_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, ROLLUP_RETENTION_DAYS (history/history-config.ts). */
  history?: HistorySettings;
  /** Registry attributes of a device: the DMA a water meter's rollups count towards. */
  attributes?: AttributesOf;
  /** The clock rollup days are closed and retention is judged by. Default Date.now. */
  clock?: () => number;
  log?: MaintenanceLog;
}

/** Opens the embedded default store (DuckDB) in `dataDir`, or in memory with `:memory:`. */
export async function openEmbeddedStore(dataDir: string | ':memory:', options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const settings = options.duckdb ?? DEFAULT_DUCKDB_SETTINGS;
  const db = await DuckDbDatabase.open(dataDir, settings);
  let history: StoreHistory;
  try {
    history = await StoreHistory.open(db, {
      dataDir,
      ...(options.latestNotAfter ? { latestNotAfter: options.latestNotAfter } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.history ? { settings: options.history } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.log ? { log: (event: string, detail: Record<string, unknown>, message: string) => options.log!('info', event, detail, message) } : {}),
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const pool = new DuckDbReadPool(db, { size: settings.apiReaders, timeoutMs: settings.apiReadTimeoutMs });
  // The DMAs' kept figures are written on a connection of their own: never behind a batch of the writer.
  const figuresDb = await db.fork();
  const readings = new DuckDbReadingsReader(pool, { ...options, archive: history.catalog });
  const maintenance = new HistoryMaintenance(history, options.log);
  return {
    writer: new DuckDbWriter(db, history),
    operations: new DuckDbOperationsStore(db, options),
    readings,
    api: {
      pool,
      operations: new DuckDbOperationsReader(pool),
      readings,
      history: new HistoryReader(pool, history.catalog, () => history.plainRollupsLeft),
      water: waterReader(pool, history, new DuckDbFigureBook(pool, figuresDb, options.log, options.clock)),
    },
    db,
    history,
    maintenance,
    path: db.path,
    close: async () => {
      await maintenance.stop();
      // Its reads stopped and its connections closed before the database's (read-pool.ts close).
      await pool.close();
      await figuresDb.close();
      // Nothing writes any more: the kept figures may be trusted at the next open (figures-stamp.ts).
      await history.close();
      await db.close();
    },
  };
}

/**
 * The water figures' reader: the read pool, the water meters' readings hot and archived, their registers'
 * rollups. Inside `snapshot` its reads run on one connection in one transaction, and the readings are
 * planned from that snapshot's parts list (archive.ts asSeenBy); the context follows the read's async
 * calls (AsyncLocalStorage), so readers made from this one by spreading it, counting or narrowing it, read
 * in the snapshot too.
 */
function waterReader(pool: DuckDbReadPool, history: StoreHistory, figures: DuckDbFigureBook): WaterReader {
  const inside = new AsyncLocalStorage<{ q: SqlReader; parts: ArchiveCatalog }>();
  return {
    all: (sql, params, types) => (inside.getStore()?.q ?? pool).all(sql, params, types),
    waterReadings: (from, to) => (inside.getStore()?.parts ?? history.catalog).rawSource('samples/water-meter', from, to),
    registerBuckets: (unit, where, fromDay) => history.registerBuckets(unit, where, fromDay),
    figures,
    snapshot: (read) => (inside.getStore() ? read() : pool.snapshot(async (q) => inside.run({ q, parts: await history.catalog.asSeenBy(q) }, read))),
  };
}

export { DuckDbDatabase } from './database.js';
export { DuckDbFigureBook } from './history/water-figures.js';
export { DEFAULT_DUCKDB_SETTINGS, loadDuckDbSettings, type DuckDbSettings } from './duckdb-config.js';
export { DuckDbReadPool, type ReadPoolStats } from './read-pool.js';
export { SAMPLE_COLUMNS, SAMPLE_TABLES } from './sample-columns.js';
export { loadHistorySettings, DEFAULT_HISTORY_SETTINGS, type HistorySettings } from './history/index.js';
