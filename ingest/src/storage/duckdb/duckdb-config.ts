/**
 * DuckDB's resource bounds, from the environment (part of the ingest's environment schema, config.ts),
 * checked once at start; errors name the variable:
 * - DUCKDB_MEMORY_LIMIT (default `320MB`): DuckDB's `memory_limit`. Past it, sorts and aggregates spill to
 *   `<store>.tmp` on disk instead of growing the process (concurrent full exports reached 4.6 GB without it).
 *   Issue 15 holds the whole ingest of a 130,000-meter city to 1 GiB: at 1 GB DuckDB alone took ~1 GB under
 *   the water reads; at 512 MB the DMA balances took as long (2.8–3.1 s), closing a day's rollups ~35 %
 *   longer (112 → 153 s of a 1-day rebuild, shared machine), with ~0.5 GB less peak; 320 MB, because DuckDB
 *   keeps the blocks it read up to its limit: on 7 days of that city what it accounted for after the history
 *   questions was ~0.30 GB at 512 MB and ~0.23 GB at 320 MB (duckdb_memory(), one run each), for a first
 *   pass of the DMAs' figures 8 % longer (331 → 357 s). `npm run store` (a tool run alone on a stopped store) keeps 512 MB unless this is set.
 * - DUCKDB_THREADS (default: cores − 1, at least 1): DuckDB's worker threads, leaving a core to the event
 *   loop that serves MQTT and the API.
 * - API_READERS (default 2): connections the API's short reads share (read-pool.ts), apart from the
 *   drainer's connection, so a slow read never delays a batch; API_READ_TIMEOUT_MS (default 30000) stops a
 *   read that runs longer (answered 503).
 */
import { availableParallelism } from 'node:os';
import { envVar } from '@tsunagaru/firmware-contracts';
import type { z } from 'zod';
import { parseIngestEnv } from '../../env.js';

export interface DuckDbSettings {
  memoryLimit: string;
  threads: number;
  apiReaders: number;
  apiReadTimeoutMs: number;
}

export const DEFAULT_DUCKDB_SETTINGS: Readonly<DuckDbSettings> = Object.freeze({
  memoryLimit: '320MB',
  threads: Math.max(1, availableParallelism() - 1),
  apiReaders: 2,
  apiReadTimeoutMs: 30_000,
});

const int = (min: number, max: number) => envVar.int({ min, max }).optional();

/** DuckDB's variables, as the ingest's environment schema holds them (config.ts). */
export const duckDbEnv = {
  DUCKDB_MEMORY_LIMIT: envVar.pattern(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 512MB or 2GB').optional(),
  DUCKDB_THREADS: int(1, 256),
  API_READERS: int(1, 32),
  API_READ_TIMEOUT_MS: int(100, 3_600_000),
};

export type DuckDbEnv = z.output<z.ZodObject<typeof duckDbEnv>>;

/** The settings `v` gives, the rest from `d` (a tool run alone may bound DuckDB otherwise than the ingest). */
export function duckDbSettingsFrom(v: Partial<DuckDbEnv>, d: Readonly<DuckDbSettings> = DEFAULT_DUCKDB_SETTINGS): DuckDbSettings {
  return { memoryLimit: v.DUCKDB_MEMORY_LIMIT ?? d.memoryLimit, threads: v.DUCKDB_THREADS ?? d.threads, apiReaders: v.API_READERS ?? d.apiReaders, apiReadTimeoutMs: v.API_READ_TIMEOUT_MS ?? d.apiReadTimeoutMs };
}

/** DuckDB's settings alone, from an environment (tests); `npm run ingest` reads them with the rest (config.ts). */
export function loadDuckDbSettings(env: NodeJS.ProcessEnv = process.env): DuckDbSettings {
  return duckDbSettingsFrom(parseIngestEnv(duckDbEnv, env));
}
