import type { DmaNight } from '../../water/night-flow.js';
import type { AlertRulesConfig } from '../rules-config.js';
import type { RuleContext } from './context.js';

type NightConfig = AlertRulesConfig['water']['night'];
const HOUR = 3_600_000;

/** One judged night of a DMA. */
export interface JudgedNight {
  mnfLph: number;
  perConnectionLph: number;
  connections: number;
  baselinePerConnectionLph: number | null;
  high: boolean;
}

/** A DMA's judged nights by local date (rule state `dma:<id>`): the baseline is learned from them. */
export interface DmaNightBook {
  nights: Record<string, JudgedNight>;
}

const KEEP_NIGHTS = 62;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The baseline before `date`, per connection: the configured one (L/h for the DMA, spread over its
 * connections), else the median of the last `learnNights` normal nights once `minNights` are known. High
 * nights never enter it, so a lasting leak does not become the new normal; per connection, so meters
 * added to a DMA do not look like a leak.
 */
export function baselineBefore(book: DmaNightBook, date: string, c: NightConfig, fixedLph: number | undefined, connections: number): number | null {
  if (fixedLph !== undefined) return connections > 0 ? fixedLph / connections : null;
  const normal = Object.keys(book.nights).filter((d) => d < date && !book.nights[d]!.high).sort().slice(-c.learnNights);
  return normal.length >= c.minNights ? median(normal.map((d) => book.nights[d]!.perConnectionLph)) : null;
}

/** Whether a night's flow per connection is high against the baseline (with the deadband when it already was). */
export function isHigh(perConnectionLph: number, baseline: number | null, c: NightConfig, wasHigh: boolean): boolean {
  if (baseline === null) return false;
  const margin = (c.marginPct - (wasHigh ? c.deadbandPct : 0)) / 100;
  const minRise = c.minRiseLphPerConnection * (wasHigh ? 1 - c.deadbandPct / 100 : 1);
  return perConnectionLph > baseline * (1 + margin) && perConnectionLph - baseline >= minRise;
}

const same = (a: JudgedNight | undefined, b: { perConnectionLph: number; connections: number }) => a !== undefined && Math.abs(a.perConnectionLph - b.perConnectionLph) < 1e-3 && a.connections === b.connections;

/**
 * Judges the DMAs' nights (water/night-flow.ts, the one MNF definition). A night is judged only once it is
 * complete (every meter that reports has data past its window) or its grace period has passed; one whose
 * customer coverage is below the minimum is not judged at all. A night already judged is judged again
 * when late data changes its figures, so late readings revise a verdict (raising or clearing) instead of
 * opening a new partial night. The alert follows the latest judged night.
 */
export function judgeDmaNights(ctx: RuleContext, nights: ReadonlyMap<string, readonly DmaNight[]>): void {
  const c = ctx.config.water.night;
  for (const [dma, list] of nights) {
    const key = `dma:${dma}`;
    const stored = ctx.state.get<DmaNightBook>(key);
    const book: DmaNightBook = { nights: { ...(stored && typeof stored.nights === 'object' ? stored.nights : {}) } };
    let changed = false;
    let rejudged = false;
    for (const f of [...list].sort((a, b) => a.date.localeCompare(b.date))) {
      const ready = f.complete || ctx.now >= f.to + c.graceHours * HOUR;
      if (!ready || f.mnfLph === null || f.connections === 0 || f.mnfPerConnectionLph === null || f.coveragePct < c.minCoveragePct) continue;
      const before = book.nights[f.date];
      if (same(before, { perConnectionLph: f.mnfPerConnectionLph, connections: f.connections })) continue;
      const baseline = baselineBefore(book, f.date, c, c.baselinesLph[dma], f.connections);
      const previous = Object.keys(book.nights).filter((d) => d < f.date).sort().at(-1);
      const wasHigh = before?.high ?? (previous ? book.nights[previous]!.high : false);
      book.nights[f.date] = { mnfLph: f.mnfLph, perConnectionLph: f.mnfPerConnectionLph, connections: f.connections, baselinePerConnectionLph: baseline, high: isHigh(f.mnfPerConnectionLph, baseline, c, wasHigh) };
      changed = true;
      rejudged ||= before !== undefined;
    }
    if (!changed) continue;
    for (const d of Object.keys(book.nights).sort().slice(0, -KEEP_NIGHTS)) delete book.nights[d];
    ctx.state.set(key, book);
    const date = Object.keys(book.nights).sort().at(-1)!;
    const v = book.nights[date]!;
    const f = list.find((x) => x.date === date);
    const per = (x: number) => (Math.round(x * 100) / 100).toString();
    ctx.report({
      deviceId: key, rule: 'dma-night-flow', object: null, active: v.high, severity: ctx.config.rules['dma-night-flow'].severity, deviceType: null,
      value: v.mnfLph,
      message: `DMA ${dma} minimum night flow ${Math.round(v.mnfLph)} L/h on the night of ${date} (${per(v.perConnectionLph)} L/h per connection, ${v.connections} connections) vs baseline ${v.baselinePerConnectionLph === null ? 'not learned yet' : `${per(v.baselinePerConnectionLph)} L/h per connection`}`,
      detail: {
        date, mnfLph: v.mnfLph, perConnectionLph: v.perConnectionLph, baselinePerConnectionLph: v.baselinePerConnectionLph, connections: v.connections, rejudged,
        ...(f ? { inletMinFlowLph: f.inletMinFlowLph, legitimateUseLph: f.legitimateUseLph, mnfShareOfAdfPct: f.mnfShareOfAdfPct, coveragePct: f.coveragePct } : {}),
      },
      ...(f ? { observedAt: f.to } : {}),
    });
  }
}
