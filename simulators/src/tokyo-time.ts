/** Local time and climate of Tokyo, which shape every daily cycle the simulators produce. */

/** Japan Standard Time is UTC+9 all year (no daylight saving). */
const JST_OFFSET_MS = 9 * 3_600_000;

function jst(ts: number): Date {
  return new Date(ts + JST_OFFSET_MS);
}

/** Hour of day in JST, fractional: 13.5 is 13:30. */
export function jstHour(ts: number): number {
  const d = jst(ts);
  return d.getUTCHours() + d.getUTCMinutes() / 60 + d.getUTCSeconds() / 3600;
}

/** Saturday or Sunday in JST (public holidays are ignored). */
export function isWeekend(ts: number): boolean {
  const day = jst(ts).getUTCDay();
  return day === 0 || day === 6;
}

/** Tokyo monthly normals (JMA 1991–2020, rounded): mean air temperature °C and relative humidity %. */
const MONTHLY_MEAN_C = [5.4, 6.1, 9.4, 14.3, 18.8, 21.9, 25.7, 26.9, 23.3, 18.0, 12.5, 7.7];
const MONTHLY_RH_PCT = [52, 53, 56, 62, 66, 75, 77, 73, 75, 71, 64, 56];

/** Value of a monthly table at `ts`, interpolated from mid-month to mid-month so there is no jump on the 1st. */
function monthly(table: readonly number[], ts: number): number {
  const d = jst(ts);
  const month = d.getUTCMonth();
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const pos = month + (d.getUTCDate() - 1 + d.getUTCHours() / 24) / daysInMonth - 0.5;
  const lo = Math.floor(pos);
  const frac = pos - lo;
  const at = (i: number): number => table[((i % 12) + 12) % 12] ?? 0;
  return at(lo) * (1 - frac) + at(lo + 1) * frac;
}

export function monthlyMeanTempC(ts: number): number {
  return monthly(MONTHLY_MEAN_C, ts);
}

export function monthlyHumidityPct(ts: number): number {
  return monthly(MONTHLY_RH_PCT, ts);
}

/** Unit Gaussian bump centred on `hour`, for building daily profiles from a few peaks. */
export function bump(hour: number, centre: number, width: number): number {
  const d = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
  return Math.exp(-(d * d) / (2 * width * width));
}

/** Daily cycle peaking at `peakHour`, from −1 (12 h away) to +1. */
export function dailyCycle(hour: number, peakHour: number): number {
  return Math.cos((2 * Math.PI * (hour - peakHour)) / 24);
}
