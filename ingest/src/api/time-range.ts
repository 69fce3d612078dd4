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

/** The calendar the water bureau counts in (local days and months, formatted as YYYY-MM-DD). */
export const CALENDAR_FROM_MS = 0; // 1970-01-01
export const CALENDAR_TO_MS = Date.UTC(9000, 0, 1);

/**
 * A time checked to lie in that calendar: local days and months are named by their date, and an ISO date
 * has four digits of year, so a time outside 1970-01-01 … 9000-01-01 is a 400 naming the parameter.
 */
export function calendarTime(name: string, t: number): number {
  if (t < CALENDAR_FROM_MS || t > CALENDAR_TO_MS) throw new IngestError('INGEST_ERR_BAD_REQUEST', `${name}: must be between 1970-01-01 and 9000-01-01, got ${Number.isNaN(new Date(t).getTime()) ? t : new Date(t).toISOString()}`);
  return t;
}
