/**
 * Days, nights and months as the water bureau counts them: local calendar time at a fixed offset from UTC
 * (Asia/Tokyo is UTC+9 all year, no daylight saving), so a day is [00:00, 24:00) JST.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface LocalClock {
  /** Minutes east of UTC (JST: 540). */
  utcOffsetMin: number;
}

const off = (c: LocalClock) => c.utcOffsetMin * 60_000;

/** Start (epoch ms) of the local day holding `ts`. */
export function dayStart(ts: number, c: LocalClock): number {
  return Math.floor((ts + off(c)) / DAY) * DAY - off(c);
}

/** Local date (YYYY-MM-DD) of `ts`. */
export function localDate(ts: number, c: LocalClock): string {
  return new Date(ts + off(c)).toISOString().slice(0, 10);
}

/** Start of local date `date` (YYYY-MM-DD). */
export function startOfDate(date: string, c: LocalClock): number {
  return Date.parse(`${date}T00:00:00Z`) - off(c);
}

/** Local day starts covering [from, to): the first at or before `from`, the last before `to`. */
export function daysBetween(from: number, to: number, c: LocalClock): number[] {
  const out: number[] = [];
  for (let d = dayStart(from, c); d < to; d += DAY) out.push(d);
  return out;
}

/** Start of local month `month` (YYYY-MM) plus `add` months. */
export function monthStart(month: string, c: LocalClock, add = 0): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return Date.UTC(y, m - 1 + add, 1) - off(c);
}

/** Local month (YYYY-MM) of `ts`. */
export function localMonth(ts: number, c: LocalClock): string {
  return localDate(ts, c).slice(0, 7);
}

/** Months (YYYY-MM) covering [from, to). */
export function monthsBetween(from: number, to: number, c: LocalClock): string[] {
  const out: string[] = [];
  for (let m = localMonth(from, c); monthStart(m, c) < to; m = localMonth(monthStart(m, c, 1), c)) out.push(m);
  return out;
}

/** The night window [start, end) of local date `date`, e.g. 02:00–04:00. */
export function nightWindow(date: string, c: LocalClock & { startHour: number; endHour: number }): [number, number] {
  const d = startOfDate(date, c);
  return [d + c.startHour * HOUR, d + c.endHour * HOUR];
}
