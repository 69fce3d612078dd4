import { DuckDbDatabase } from './database.js';
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
  api: { pool: DuckDbReadPool; operations: DuckDbOperationsReader; readings: DuckDbReadingsReader };
  /** The database itself, for parts that keep their own tables in it (the alert engine). */
  db: DuckDbDatabase;
  path: string;
  close(): Promise<void>;
}

export interface EmbeddedStoreOptions extends OperationsStoreOptions, ReadingsReaderOptions {
  /** DuckDB memory_limit and threads, the API's readers (duckdb-config.ts); default DEFAULT_DUCKDB_SETTINGS. */
  duckdb?: DuckDbSettings;
}

/** Opens the embedded default store (DuckDB) in `dataDir`, or in memory with `:memory:`. */
export async function openEmbeddedStore(dataDir: string | ':memory:', options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const settings = options.duckdb ?? DEFAULT_DUCKDB_SETTINGS;
  const db = await DuckDbDatabase.open(dataDir, settings);
  const pool = new DuckDbReadPool(db, { size: settings.apiReaders, timeoutMs: settings.apiReadTimeoutMs });
  const readings = new DuckDbReadingsReader(pool, options);
  return {
    writer: new DuckDbWriter(db),
    operations: new DuckDbOperationsStore(db, options),
    readings,
    api: { pool, operations: new DuckDbOperationsReader(pool), readings },
    db,
    path: db.path,
    close: async () => {
      pool.close();
      await db.close();
    },
  };
}

export { DuckDbDatabase } from './database.js';
export { DEFAULT_DUCKDB_SETTINGS, loadDuckDbSettings, type DuckDbSettings } from './duckdb-config.js';
export { DuckDbReadPool, type ReadPoolStats } from './read-pool.js';
export { SAMPLE_COLUMNS, SAMPLE_TABLES } from './sample-columns.js';
