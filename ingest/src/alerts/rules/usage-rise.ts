import type { RuleContext } from './context.js';

/** A household's use in a month, with the month before and the same month last year (water/watch.ts). */
export interface MonthUse {
  deviceId: string;
  month: string;
  litres: number | null;
  previousLitres: number | null;
  lastYearLitres: number | null;
}

/** Rule state scope of the month last judged, so a restart does not read the city's month again. */
export const USAGE_MONTH_JUDGED = 'usage-month-judged';

const litres = (x: number) => `${Math.round(x).toLocaleString('en-US')} L`;

/**
 * The bureau's usage notice (domain notes: use up by a set share against last month or last year): a
 * month of at least `minMonthLitres` that exceeds the month before or the same month last year by
 * `risePct`. Judged once the month is over (and its grace passed); the next month's verdict replaces it.
 */
export function judgeUsage(ctx: RuleContext, uses: readonly MonthUse[]): void {
  const u = ctx.config.water.usage;
  const factor = 1 + u.risePct / 100;
  for (const x of uses) {
    if (x.litres === null) continue;
    const against: string[] = [];
    const up = (base: number | null) => base !== null && x.litres! > base * factor;
    const pct = (base: number) => (base > 0 ? `up ${Math.round((x.litres! / base - 1) * 100)} %` : 'up from nothing');
    if (x.litres >= u.minMonthLitres) {
      if (up(x.previousLitres)) against.push(`${pct(x.previousLitres!)} on the month before (${litres(x.previousLitres!)})`);
      if (up(x.lastYearLitres)) against.push(`${pct(x.lastYearLitres!)} on the same month last year (${litres(x.lastYearLitres!)})`);
    }
    ctx.report({
      deviceId: x.deviceId, rule: 'water-usage-rise', object: null, active: against.length > 0, severity: ctx.config.rules['water-usage-rise'].severity, deviceType: 'water-meter',
      value: Math.round(x.litres),
      message: `water use in ${x.month}: ${litres(x.litres)}, ${against.join(' and ') || 'no notable rise'}`,
      detail: { month: x.month, litres: Math.round(x.litres), previousLitres: x.previousLitres === null ? null : Math.round(x.previousLitres), lastYearLitres: x.lastYearLitres === null ? null : Math.round(x.lastYearLitres) },
    });
  }
  if (uses.length > 0) ctx.state.set(USAGE_MONTH_JUDGED, { month: uses[0]!.month });
}
