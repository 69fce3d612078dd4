import type { AlertRulesConfig } from '../rules-config.js';

type NightConfig = AlertRulesConfig['water']['night'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One DMA's minimum-night-flow bookkeeping: litres per local night, and the judged nights' flows. */
export interface DmaNights {
  /** Local date (YYYY-MM-DD) → litres used by the DMA's meters inside that night's window. */
  open: Record<string, number>;
  /** Night flows (L/h) of past normal nights, newest last: the learned baseline. */
  history: number[];
}

/** The night window [start, end) of local date `day` (epoch ms of local midnight as if UTC), in UTC ms. */
function windowOf(localMidnight: number, c: NightConfig): [number, number] {
  const offset = c.utcOffsetMin * 60_000;
  return [localMidnight + c.startHour * HOUR - offset, localMidnight + c.endHour * HOUR - offset];
}

const dateKey = (localMidnight: number) => new Date(localMidnight).toISOString().slice(0, 10);

/**
 * Spreads `litres` used over (fromTs, toTs] evenly and adds the share that falls inside each night window
 * (meters report 15-minute to hourly deltas, rarely aligned with 02:00).
 */
export function addNightUse(n: DmaNights, fromTs: number, toTs: number, litres: number, c: NightConfig): void {
  if (!(toTs > fromTs) || litres <= 0) return;
  const offset = c.utcOffsetMin * 60_000;
  for (let day = Math.floor((fromTs + offset) / DAY) * DAY; day - offset <= toTs; day += DAY) {
    const [ws, we] = windowOf(day, c);
    const overlap = Math.min(we, toTs) - Math.max(ws, fromTs);
    if (overlap <= 0) continue;
    const key = dateKey(day);
    n.open[key] = (n.open[key] ?? 0) + (litres * overlap) / (toTs - fromTs);
  }
}

export interface NightVerdict {
  date: string;
  nightFlowLph: number;
  baselineLph: number | null;
  /** Whether the night flow is above baseline × (1 + margin), with the deadband when already raised. */
  high: boolean;
}

/**
 * Judges every night whose window ended more than `graceMs` before `now` (late batches still count).
 * Baseline: the configured one, else the median of past normal nights once `minNights` are known. High
 * nights do not enter the learned baseline, so a lasting leak does not become the new normal.
 */
export function judgeNights(n: DmaNights, now: number, c: NightConfig, fixedBaseline: number | undefined, wasHigh: boolean, graceMs = HOUR): NightVerdict[] {
  const verdicts: NightVerdict[] = [];
  const windowHours = c.endHour - c.startHour;
  for (const date of Object.keys(n.open).sort()) {
    const [, end] = windowOf(Date.parse(`${date}T00:00:00Z`), c);
    if (end + graceMs > now) continue;
    const nightFlowLph = (n.open[date] ?? 0) / windowHours;
    delete n.open[date];
    const baselineLph = fixedBaseline ?? (n.history.length >= c.minNights ? median(n.history) : null);
    const margin = (c.marginPct - (wasHigh ? c.deadbandPct : 0)) / 100;
    const high = baselineLph !== null && nightFlowLph > baselineLph * (1 + margin);
    if (!high) n.history = [...n.history, nightFlowLph].slice(-c.learnNights);
    verdicts.push({ date, nightFlowLph, baselineLph, high });
    wasHigh = high;
  }
  return verdicts;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
