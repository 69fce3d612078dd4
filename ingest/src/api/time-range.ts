import { IngestError } from '../errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Accepts epoch milliseconds or an ISO 8601 time; names the parameter when it is neither. */
export function parseTime(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^-?\d+$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new IngestError('INGEST_ERR_BAD_REQUEST', `${name}: must be epoch milliseconds or an ISO 8601 time, got "${raw.slice(0, 64)}"`);
  return t;
}

/** `[from, to)`; defaults to the last 24 hours before `now`. */
export function parseRange(query: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const to = parseTime('to', query.to) ?? now;
  const from = parseTime('from', query.from) ?? to - DAY_MS;
  if (from > to) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'from: must not be after to');
  return { from, to };
}
