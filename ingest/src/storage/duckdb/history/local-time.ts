/**
 * Days and hours as the city lives them. Rollup buckets, "a day's usage" and the night window are Japan
 * days (UTC+9, no daylight saving time), so a day's bucket runs from 00:00 to 24:00 in Tokyo, not in UTC.
 * Hour buckets are the same in both (the offset is whole hours). The Parquet archive keeps UTC days
 * (archive.ts): its files are for analysts, whose tools read UTC timestamps.
 */

export const LOCAL_UTC_OFFSET_HOURS = 9;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
const OFFSET_MS = LOCAL_UTC_OFFSET_HOURS * HOUR_MS;

/** SQL: the local calendar day (DATE) of a TIMESTAMP expression. */
export const localDaySql = (ts: string): string => `CAST(${ts} + INTERVAL ${LOCAL_UTC_OFFSET_HOURS} HOUR AS DATE)`;
/** SQL: the local hour of the day (0–23) of a TIMESTAMP expression. */
export const localHourSql = (ts: string): string => `hour(${ts} + INTERVAL ${LOCAL_UTC_OFFSET_HOURS} HOUR)`;
/** SQL: the instant (TIMESTAMP, UTC) a local DATE expression begins. */
export const localDayStartSql = (day: string): string => `(CAST(${day} AS TIMESTAMP) - INTERVAL ${LOCAL_UTC_OFFSET_HOURS} HOUR)`;

/** The local day holding epoch ms `t`, as days since 1970-01-01 (the integer DuckDB stores a DATE as). */
export function localDayNumber(t: number): number {
  return Math.floor((t + OFFSET_MS) / DAY_MS);
}

/** Epoch ms at which local day number `day` begins. */
export function localDayStart(day: number): number {
  return day * DAY_MS - OFFSET_MS;
}

/** `YYYY-MM-DD` of a day number (local or UTC: the number is what it is). */
export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day number holding epoch ms `t`. */
export function utcDayNumber(t: number): number {
  return Math.floor(t / DAY_MS);
}
