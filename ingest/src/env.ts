import { parseEnv } from '@tsunagaru/firmware-contracts';
import type { z } from 'zod';
import { IngestError } from './errors.js';

/**
 * Parses variables of the ingest's environment schema (its parts: config.ts, storage/store-config.ts,
 * api/api-settings.ts, storage/duckdb/duckdb-config.ts, storage/duckdb/history/history-config.ts), or throws every problem, one line each, naming
 * the variable. An empty variable counts as unset.
 */
export function parseIngestEnv<S extends z.ZodRawShape>(shape: S, env: Readonly<Record<string, string | undefined>>): Partial<z.output<z.ZodObject<S>>> {
  const result = parseEnv(shape, env);
  if (!result.ok) throw new IngestError('INGEST_ERR_CONFIG', result.problems.join('\n'), { details: result.problems });
  return result.value as Partial<z.output<z.ZodObject<S>>>;
}
