import { MAX_TS_MS, MIN_TS_MS } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../errors.js';
import { MAX_EPOCH_MS } from './schemas.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A query time the route schema already checked (schemas.ts `timeParam`): epoch ms as a number (ajv coerced
 * it, in range), or an ISO 8601 date-time / date string. Returns epoch ms.
 */
export function parseTime(name: string, raw: number | string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'number') return raw;
  const t = /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  // Unreachable behind the schema; kept so a caller without one still gets a 400, never a bad number.
  if (!Number.isFinite(t)) throw new IngestError('INGEST_ERR_BAD_REQUEST', `${name}: must be epoch milliseconds or an ISO 8601 time, got "${raw.slice(0, 64)}"`);
  return t;
}

/** `[from, to)`; defaults to the last 24 hours before `now`. */
export function parseRange(query: { from?: number | string; to?: number | string }, now: number): { from: number; to: number } {
  const to = parseTime('to', query.to) ?? now;
  // Clamped so the default `from` of an extreme `to` is still a time a Date can format.
  const from = parseTime('from', query.from) ?? Math.max(to - DAY_MS, -MAX_EPOCH_MS);
  if (from > to) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'from: must not be after to');
  return { from, to };
}

/**
 * Figures by calendar day or bucket (water figures, aggregated readings) are about readings, which devices
 * stamp within the contract's bounds (2000–2100): a time outside them holds no reading and has no day to
 * align to (Date cannot format one near its own limits), so it is refused, naming the parameter.
 */
export function withinReadings(name: 'from' | 'to', t: number): number {
  if (t < MIN_TS_MS || t > MAX_TS_MS) throw new IngestError('INGEST_ERR_BAD_REQUEST', `${name}: must be between ${new Date(MIN_TS_MS).toISOString()} and ${new Date(MAX_TS_MS).toISOString()}, the times readings can carry; got ${t}`);
  return t;
}
