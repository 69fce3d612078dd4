import { IngestError } from '../../errors.js';

/**
 * Turns a failed write into an IngestError that says whether to retry (style: influxdb-client-js
 * `canRetry()`). Only 400 (bad line protocol, field type conflict) and 413 (too large) blame the data:
 * the caller splits the batch and dead-letters the message that still fails. Everything else (network,
 * 5xx, 429, and also 401/403/404, which are configuration problems, not the data's fault) is retried.
 */
export function writeError(target: string, status: number | undefined, detail: string, cause?: unknown): IngestError {
  const init = cause === undefined ? {} : { cause };
  if (status === 400 || status === 413) {
    return new IngestError('INGEST_ERR_STORE_REJECTED', `${target} rejected the data (HTTP ${status}): ${detail.slice(0, 500)}`, init);
  }
  const what = status === undefined ? 'is unreachable' : `answered HTTP ${status}`;
  const hint = status === 401 || status === 403 ? ' (check INFLUX_TOKEN / INFLUX_USER / INFLUX_PASSWORD)' : status === 404 ? ' (check INFLUX_DB / INFLUX_BUCKET / INFLUX_ORG)' : '';
  return new IngestError('INGEST_ERR_STORAGE', `${target} ${what}${hint}: ${detail.slice(0, 500)}`, init);
}

/** Splits lines into request bodies of at most `maxLines` lines and `maxBytes` bytes. */
export function chunkLines(lines: readonly string[], maxLines: number, maxBytes: number): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const l of lines) {
    const size = Buffer.byteLength(l) + 1;
    if (current.length > 0 && (current.length >= maxLines || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(l);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
