/**
 * The water scorecard: non-revenue water per DMA-day against the network's true losses (within ±2 % of
 * the truth where the balance is complete, and flagged incomplete wherever a customer meter was silent);
 * night-flow alerts and welfare alerts against the injected leaks and welfare events (precision and
 * recall, the night-flow alert about the right night); no burst alert at all (the scenario's baths).
 */
import type { WaterTruth } from './truth.js';

export interface ObservedDay {
  dma: string;
  date: string;
  nonRevenueLitres: number | null;
  inletLitres: number | null;
  complete: boolean;
  coveragePct: number;
}

export interface ObservedWaterAlert {
  id: string;
  rule: string;
  deviceId: string;
  object: string | null;
  state: string;
  raisedAt: number;
  /** Night-flow alerts: the night each raise was about. */
  raisedNights?: string[];
}

export interface WaterScorecard {
  scenario: string;
  nrw: {
    /** DMA-days every customer meter read around: their error against the truth. */
    fullCoverageDays: number;
    withinTolerance: number;
    maxErrorPct: number | null;
    medianErrorPct: number | null;
    /** Largest error in points of the inlet volume. */
    maxErrorPoints: number | null;
    /** Days with a silent meter, and how many of them were flagged incomplete. */
    partialDays: number;
    flaggedIncomplete: number;
    /** Days that were complete in truth but reported incomplete (or the reverse): listed. */
    misjudged: string[];
    outOfTolerance: string[];
  };
  nightFlow: Score;
  welfare: Score;
  bursts: { alerts: number; baths: number };
}

export interface Score {
  expected: number;
  matched: number;
  falsePositives: string[];
  falseNegatives: string[];
  precision: number;
  recall: number;
}

export const NRW_TOLERANCE_PCT = 2;
const round2 = (x: number) => Math.round(x * 100) / 100;

function match(expected: ReadonlyArray<{ key: string; ok: (a: ObservedWaterAlert) => boolean }>, observed: readonly ObservedWaterAlert[], describe: (a: ObservedWaterAlert) => string): Score {
  const pool = new Set(observed);
  const falseNegatives: string[] = [];
  for (const e of expected) {
    const hit = [...pool].find(e.ok);
    if (hit) pool.delete(hit);
    else falseNegatives.push(e.key);
  }
  const matched = expected.length - falseNegatives.length;
  return { expected: expected.length, matched, falsePositives: [...pool].map(describe), falseNegatives, precision: observed.length === 0 ? 1 : matched / observed.length, recall: expected.length === 0 ? 1 : matched / expected.length };
}

export function scoreWater(truth: WaterTruth, days: readonly ObservedDay[], alerts: readonly ObservedWaterAlert[]): WaterScorecard {
  const full: number[] = [];
  const points: number[] = [];
  const misjudged: string[] = [];
  const outOfTolerance: string[] = [];
  let partial = 0;
  let flagged = 0;
  for (const t of truth.days) {
    const o = days.find((d) => d.dma === t.dma && d.date === t.date);
    const name = `${t.dma} ${t.date}`;
    if (t.silentMeters.length > 0) {
      partial++;
      if (o && !o.complete) flagged++;
      else misjudged.push(`${name}: reported complete with ${t.silentMeters.join(', ')} silent`);
      continue;
    }
    if (!o || !o.complete || o.nonRevenueLitres === null) {
      misjudged.push(`${name}: every meter read, reported incomplete (coverage ${o?.coveragePct ?? 0} %)`);
      continue;
    }
    const errPct = (Math.abs(o.nonRevenueLitres - t.nonRevenueLitres) / t.nonRevenueLitres) * 100;
    full.push(errPct);
    points.push((Math.abs(o.nonRevenueLitres - t.nonRevenueLitres) / t.inletLitres) * 100);
    if (errPct > NRW_TOLERANCE_PCT) outOfTolerance.push(`${name}: ${o.nonRevenueLitres} L vs ${t.nonRevenueLitres} L true (${round2(errPct)} %)`);
  }
  const sorted = [...full].sort((a, b) => a - b);
  const nightExpected = truth.expectedAlerts.filter((e) => e.rule === 'dma-night-flow').map((e) => ({
    key: `dma-night-flow ${e.deviceId} night ${e.night}`,
    ok: (a: ObservedWaterAlert) => a.rule === 'dma-night-flow' && a.deviceId === e.deviceId && a.raisedNights?.[0] === e.night,
  }));
  const welfareExpected = truth.expectedAlerts.filter((e) => e.rule.startsWith('welfare')).map((e) => ({
    key: `${e.rule} ${e.deviceId}`,
    ok: (a: ObservedWaterAlert) => a.rule === e.rule && a.deviceId === e.deviceId && a.raisedAt >= e.fromTs,
  }));
  const describe = (a: ObservedWaterAlert) => `${a.rule} ${a.deviceId}${a.raisedNights ? ` nights ${a.raisedNights.join(', ')}` : ''} raised ${new Date(a.raisedAt).toISOString()}`;
  return {
    scenario: truth.scenario,
    nrw: {
      fullCoverageDays: full.length, withinTolerance: full.filter((e) => e <= NRW_TOLERANCE_PCT).length,
      maxErrorPct: sorted.length ? round2(sorted.at(-1)!) : null, medianErrorPct: sorted.length ? round2(sorted[Math.floor(sorted.length / 2)]!) : null,
      maxErrorPoints: points.length ? round2(Math.max(...points)) : null,
      partialDays: partial, flaggedIncomplete: flagged, misjudged, outOfTolerance,
    },
    nightFlow: match(nightExpected, alerts.filter((a) => a.rule === 'dma-night-flow'), describe),
    welfare: match(welfareExpected, alerts.filter((a) => a.rule.startsWith('welfare')), describe),
    bursts: { alerts: alerts.filter((a) => a.rule === 'water-burst' || (a.rule === 'meter-alarm' && a.object === 'burst')).length, baths: truth.baths.length },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function formatWaterScorecard(s: WaterScorecard): string {
  const n = s.nrw;
  const lines = [
    `scorecard: ${s.scenario}`,
    `  non-revenue water  ${n.withinTolerance} of ${n.fullCoverageDays} full-coverage DMA-days within ±${NRW_TOLERANCE_PCT} % of the true loss (error median ${n.medianErrorPct ?? 'n/a'} %, max ${n.maxErrorPct ?? 'n/a'} %; max ${n.maxErrorPoints ?? 'n/a'} points of the inlet)`,
    `                     ${n.flaggedIncomplete} of ${n.partialDays} DMA-days with a silent meter flagged incomplete`,
    `  night flow         precision ${pct(s.nightFlow.precision)}, recall ${pct(s.nightFlow.recall)} (${s.nightFlow.matched} of ${s.nightFlow.expected} injected leaks, on the night after each began)`,
    `  welfare            precision ${pct(s.welfare.precision)}, recall ${pct(s.welfare.recall)} (${s.welfare.matched} of ${s.welfare.expected} events)`,
    `  bursts             ${s.bursts.alerts} burst alerts (${s.bursts.baths} baths in the scenario)`,
  ];
  for (const x of [...n.misjudged, ...n.outOfTolerance]) lines.push(`  balance           ${x}`);
  for (const x of [...s.nightFlow.falsePositives, ...s.welfare.falsePositives]) lines.push(`  false alert       ${x}`);
  for (const x of [...s.nightFlow.falseNegatives, ...s.welfare.falseNegatives]) lines.push(`  missed alert      ${x}`);
  return lines.join('\n');
}

/** The targets of issue 16 a scorecard misses, in words (empty: all met). */
export function missedWaterTargets(s: WaterScorecard): string[] {
  const missed: string[] = [];
  if (s.nrw.fullCoverageDays === 0) missed.push('no DMA-day with full coverage to judge non-revenue water on');
  if (s.nrw.withinTolerance < s.nrw.fullCoverageDays) missed.push(`${s.nrw.fullCoverageDays - s.nrw.withinTolerance} full-coverage DMA-days outside ±${NRW_TOLERANCE_PCT} %`);
  if (s.nrw.misjudged.length > 0) missed.push(`${s.nrw.misjudged.length} DMA-days misjudged complete/incomplete`);
  for (const [name, sc] of [['night flow', s.nightFlow], ['welfare', s.welfare]] as const) {
    if (sc.precision < 1) missed.push(`${name} precision ${pct(sc.precision)} < 100 %`);
    if (sc.recall < 1) missed.push(`${name} recall ${pct(sc.recall)} < 100 %`);
  }
  if (s.bursts.alerts > 0) missed.push(`${s.bursts.alerts} burst alerts`);
  return missed;
}
