/**
 * DuckDB's resource bounds, from the environment, checked once at start (zod; errors name the variable):
 * - DUCKDB_MEMORY_LIMIT (default `1GB`): DuckDB's `memory_limit`. Past it, sorts and aggregates spill to
 *   `<store>.tmp` on disk instead of growing the process (concurrent full exports reached 4.6 GB without it).
 * - DUCKDB_THREADS (default: cores − 1, at least 1): DuckDB's worker threads, leaving a core to the event
 *   loop that serves MQTT and the API.
 * - API_READERS (default 2): connections the API's short reads share (read-pool.ts), apart from the
 *   drainer's connection, so a slow read never delays a batch; API_READ_TIMEOUT_MS (default 30000) stops a
 *   read that runs longer (answered 503).
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { configError } from '../../errors.js';

export interface DuckDbSettings {
  memoryLimit: string;
  threads: number;
  apiReaders: number;
  apiReadTimeoutMs: number;
}

export const DEFAULT_DUCKDB_SETTINGS: Readonly<DuckDbSettings> = Object.freeze({
  memoryLimit: '1GB',
  threads: Math.max(1, availableParallelism() - 1),
  apiReaders: 2,
  apiReadTimeoutMs: 30_000,
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 512MB or 2GB')
    .default(DEFAULT_DUCKDB_SETTINGS.memoryLimit),
  DUCKDB_THREADS: int(1, 256).default(DEFAULT_DUCKDB_SETTINGS.threads),
  API_READERS: int(1, 32).default(DEFAULT_DUCKDB_SETTINGS.apiReaders),
  API_READ_TIMEOUT_MS: int(100, 3_600_000).default(DEFAULT_DUCKDB_SETTINGS.apiReadTimeoutMs),
});

export function loadDuckDbSettings(env: NodeJS.ProcessEnv = process.env): DuckDbSettings {
  const present = Object.fromEntries(Object.keys(schema.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw configError(String(issue.path[0]), `${issue.message}, got "${String(present[String(issue.path[0])])}"`);
  }
  const v = parsed.data;
  return { memoryLimit: v.DUCKDB_MEMORY_LIMIT, threads: v.DUCKDB_THREADS, apiReaders: v.API_READERS, apiReadTimeoutMs: v.API_READ_TIMEOUT_MS };
}
