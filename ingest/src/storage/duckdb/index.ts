import { DuckDbDatabase } from './database.js';
import { DuckDbOperationsStore, type OperationsStoreOptions } from './operations.js';
import { DuckDbReadingsReader, type ReadingsReaderOptions } from './readings.js';
import { DuckDbWriter } from './writer.js';

export interface EmbeddedStore {
  writer: DuckDbWriter;
  operations: DuckDbOperationsStore;
  readings: DuckDbReadingsReader;
  /** The database itself, for parts that keep their own tables in it (the alert engine). */
  db: DuckDbDatabase;
  path: string;
  close(): Promise<void>;
}

/** Opens the embedded default store (DuckDB) in `dataDir`, or in memory with `:memory:`. */
export type EmbeddedStoreOptions = OperationsStoreOptions & ReadingsReaderOptions;

export async function openEmbeddedStore(dataDir: string | ':memory:', options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const db = await DuckDbDatabase.open(dataDir);
  return {
    writer: new DuckDbWriter(db),
    operations: new DuckDbOperationsStore(db, options),
    readings: new DuckDbReadingsReader(db, options),
    db,
    path: db.path,
    close: () => db.close(),
  };
}

export { DuckDbDatabase } from './database.js';
export { SAMPLE_COLUMNS, SAMPLE_TABLES } from './sample-columns.js';
