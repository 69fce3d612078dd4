/**
 * Which time-series store(s) the ingest writes, from the environment; validated once at start, naming the
 * variable at fault. The registry, device status, dead letters and the completeness ledger always stay in
 * the embedded DuckDB.
 */
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

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw configError(name, `must be an integer 0-${max}, got "${raw}"`);
  return n;
}

function required(env: NodeJS.ProcessEnv, name: string, why: string): string {
  const v = env[name];
  if (!v) throw configError(name, `is required ${why}`);
  return v;
}

export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const stores = (env.STORE || 'duckdb').split(',').map((s) => s.trim()).filter(Boolean) as StoreKind[];
  for (const s of stores) if (!STORE_KINDS.includes(s)) throw configError('STORE', `unknown store "${s}"; use ${STORE_KINDS.join(', ')} (comma-separated for several)`);
  if (stores.includes('influx-v1') && stores.includes('influx-v2')) throw configError('STORE', 'choose influx-v1 or influx-v2, not both (they share the INFLUX_* settings)');
  const kind = stores.find((s) => s !== 'duckdb');
  let influx: InfluxSettings | undefined;
  if (kind) {
    const why = `with STORE=${kind}`;
    const url = required(env, 'INFLUX_URL', why);
    if (!/^https?:\/\/[^/]+/.test(url)) throw configError('INFLUX_URL', `must be an http:// or https:// URL, got "${url}"`);
    const flag = env.INFLUX_STRING_FIELDS;
    if (flag !== undefined && flag !== '' && flag !== 'true' && flag !== 'false') throw configError('INFLUX_STRING_FIELDS', `must be true or false, got "${flag}"`);
    influx = { url, stringFields: flag !== 'false' };
    if (kind === 'influx-v2') {
      Object.assign(influx, { org: required(env, 'INFLUX_ORG', why), bucket: required(env, 'INFLUX_BUCKET', why) });
      if (env.INFLUX_TOKEN) influx.token = env.INFLUX_TOKEN;
    } else {
      influx.db = required(env, 'INFLUX_DB', why);
      if (env.INFLUX_RP) influx.rp = env.INFLUX_RP;
      if (env.INFLUX_USER) influx.user = env.INFLUX_USER;
      if (env.INFLUX_PASSWORD) influx.password = env.INFLUX_PASSWORD;
      if (influx.password && !influx.user) throw configError('INFLUX_USER', 'is required when INFLUX_PASSWORD is set');
    }
  }
  const journalMb = positiveInt(env, 'JOURNAL_MAX_MB', 256, 1_000_000);
  if (journalMb < 1) throw configError('JOURNAL_MAX_MB', 'must be at least 1');
  const minFreeMb = positiveInt(env, 'JOURNAL_MIN_FREE_MB', 64, 1_000_000);
  const batchSize = positiveInt(env, 'INGEST_BATCH_SIZE', 1000, 100_000);
  if (batchSize < 1) throw configError('INGEST_BATCH_SIZE', 'must be at least 1');
  return Object.freeze({
    stores,
    ...(influx ? { influx: Object.freeze(influx) } : {}),
    journalMaxBytes: journalMb * 1024 * 1024,
    journalMinFreeBytes: minFreeMb * 1024 * 1024,
    batchSize,
    lingerMs: positiveInt(env, 'INGEST_BATCH_LINGER_MS', 20, 60_000),
  });
}
