/**
 * Which time-series store(s) the ingest writes, from the environment (part of the ingest's environment
 * schema, config.ts), validated once at start, naming the variable at fault. The registry, device status, dead letters and the completeness ledger always stay in
 * the embedded DuckDB.
 */
import { envVar } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { parseIngestEnv } from '../env.js';
import { configError } from '../errors.js';

export type StoreKind = 'duckdb' | 'influx-v1' | 'influx-v2';
export const STORE_KINDS: readonly StoreKind[] = ['duckdb', 'influx-v1', 'influx-v2'];

export interface InfluxSettings {
  /** INFLUX_URL, e.g. http://127.0.0.1:8086 */
  url: string;
  /** v2: INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET */
  token?: string;
  org?: string;
  bucket?: string;
  /** v1: INFLUX_DB, INFLUX_RP, INFLUX_USER, INFLUX_PASSWORD */
  db?: string;
  rp?: string;
  user?: string;
  password?: string;
  /** INFLUX_STRING_FIELDS (default true): write string fields (event detail); false for VictoriaMetrics. */
  stringFields: boolean;
}

export interface StorageConfig {
  /** STORE: comma-separated, default `duckdb`; e.g. `influx-v2` or `duckdb,influx-v1`. */
  stores: StoreKind[];
  influx?: InfluxSettings;
  /** JOURNAL_MAX_MB (default 256): unreleased journal data before the ingest stops acknowledging. */
  journalMaxBytes: number;
  /**
   * JOURNAL_MIN_FREE_MB (default 64; 0 turns the watermark off): free space kept on the journal's disk.
   * Below it the ingest takes no more messages (no PUBACK; devices keep them) until space returns, so the
   * store, alert saves and the log still have room; health says why and an alert is raised.
   */
  journalMinFreeBytes: number;
  /** INGEST_BATCH_SIZE (default 1000): messages per store write. */
  batchSize: number;
  /** INGEST_BATCH_LINGER_MS (default 20): how long a batch may wait to fill. */
  lingerMs: number;
}

/** The variables of the store(s) and the journal, as the ingest's environment schema holds them (config.ts). */
export const storageEnv = {
  STORE: envVar.text().optional(),
  INFLUX_URL: envVar.pattern(/^https?:\/\/[^/]+/, 'must be an http:// or https:// URL').optional(),
  INFLUX_TOKEN: z.string().optional(),
  INFLUX_ORG: z.string().optional(),
  INFLUX_BUCKET: z.string().optional(),
  INFLUX_DB: z.string().optional(),
  INFLUX_RP: z.string().optional(),
  INFLUX_USER: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  INFLUX_STRING_FIELDS: envVar.flag(['true', 'false']).optional(),
  JOURNAL_MAX_MB: envVar.int({ min: 1, max: 1_000_000 }).optional(),
  JOURNAL_MIN_FREE_MB: envVar.int({ min: 0, max: 1_000_000 }).optional(),
  INGEST_BATCH_SIZE: envVar.int({ min: 1, max: 100_000 }).optional(),
  INGEST_BATCH_LINGER_MS: envVar.int({ min: 0, max: 60_000 }).optional(),
};

export type StorageEnv = z.output<z.ZodObject<typeof storageEnv>>;

/** The storage settings from the parsed variables; the rules across variables name the one at fault. */
export function storageConfigFrom(v: Partial<StorageEnv>): StorageConfig {
  const stores = (v.STORE ?? 'duckdb').split(',').map((s) => s.trim()).filter(Boolean) as StoreKind[];
  for (const s of stores) if (!STORE_KINDS.includes(s)) throw configError('STORE', `unknown store "${s}"; use ${STORE_KINDS.join(', ')} (comma-separated for several)`);
  if (stores.includes('influx-v1') && stores.includes('influx-v2')) throw configError('STORE', 'choose influx-v1 or influx-v2, not both (they share the INFLUX_* settings)');
  const kind = stores.find((s) => s !== 'duckdb');
  let influx: InfluxSettings | undefined;
  if (kind) {
    const required = (name: 'INFLUX_URL' | 'INFLUX_ORG' | 'INFLUX_BUCKET' | 'INFLUX_DB') => v[name] ?? (() => { throw configError(name, `is required with STORE=${kind}`); })();
    influx = { url: required('INFLUX_URL'), stringFields: v.INFLUX_STRING_FIELDS ?? true };
    if (kind === 'influx-v2') {
      Object.assign(influx, { org: required('INFLUX_ORG'), bucket: required('INFLUX_BUCKET') });
      if (v.INFLUX_TOKEN) influx.token = v.INFLUX_TOKEN;
    } else {
      influx.db = required('INFLUX_DB');
      if (v.INFLUX_RP) influx.rp = v.INFLUX_RP;
      if (v.INFLUX_USER) influx.user = v.INFLUX_USER;
      if (v.INFLUX_PASSWORD) influx.password = v.INFLUX_PASSWORD;
      if (influx.password && !influx.user) throw configError('INFLUX_USER', 'is required when INFLUX_PASSWORD is set');
    }
  }
  return Object.freeze({
    stores,
    ...(influx ? { influx: Object.freeze(influx) } : {}),
    journalMaxBytes: (v.JOURNAL_MAX_MB ?? 256) * 1024 * 1024,
    journalMinFreeBytes: (v.JOURNAL_MIN_FREE_MB ?? 64) * 1024 * 1024,
    batchSize: v.INGEST_BATCH_SIZE ?? 1000,
    lingerMs: v.INGEST_BATCH_LINGER_MS ?? 20,
  });
}

/** The storage settings alone, from an environment (tests, in-process runs); `npm run ingest` reads them with the rest (config.ts). */
export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  return storageConfigFrom(parseIngestEnv(storageEnv, env));
}
