/**
 * A household's use per local day or month (the bureau's usage graph and notices), each bucket from the
 * register interpolated at its ends (volumes.ts). Months also carry the previous month's and the same
 * month's of last year, for month-on-month and year-on-year comparison.
 */
import type { WaterReader } from './registers.js';
import { daysBetween, localDate, monthStart, monthsBetween, type LocalClock } from './local-days.js';
import type { RegisterSettings } from './registers.js';
import { meterVolumes, type MeterVolume } from './volumes.js';

export type UsageInterval = 'day' | 'month';

export interface UsageBucket {
  /** Local date (YYYY-MM-DD) or month (YYYY-MM). */
  period: string;
  from: number;
  to: number;
  litres: number | null;
  covered: boolean;
  estimated: boolean;
  /** Rollovers and resets of the register inside the bucket. */
  rollovers: number;
  resets: number;
  /** Months only: the month before, and the same month a year before (null when unknown). */
  previousLitres?: number | null;
  lastYearLitres?: number | null;
}

const bucket = (period: string, v: MeterVolume): UsageBucket => ({
  period, from: v.from, to: v.to, litres: v.litres, covered: v.covered, estimated: v.estimated,
  rollovers: v.breaks.filter((b) => b.kind === 'rollover').length, resets: v.breaks.filter((b) => b.kind === 'reset').length,
});

export async function meterUsage(db: WaterReader, deviceId: string, interval: UsageInterval, from: number, to: number, c: LocalClock, s: RegisterSettings): Promise<UsageBucket[]> {
  if (interval === 'day') {
    const days = daysBetween(from, to, c);
    if (days.length === 0) return [];
    const bounds = [...days, days.at(-1)! + 86_400_000];
    const v = (await meterVolumes(db, [deviceId], bounds, s)).get(deviceId)!;
    return v.map((x) => bucket(localDate(x.from, c), x));
  }
  const months = monthsBetween(from, to, c);
  if (months.length === 0) return [];
  // Thirteen months before the first as well: each month is compared with the one before and last year's.
  const first = months[0]!;
  const all = Array.from({ length: months.length + 14 }, (_, i) => monthStart(first, c, i - 13));
  const v = (await meterVolumes(db, [deviceId], all, s)).get(deviceId)!;
  return months.map((m, i) => {
    const k = i + 13;
    return { ...bucket(m, v[k]!), previousLitres: v[k - 1]!.litres, lastYearLitres: v[k - 12]!.litres };
  });
}
