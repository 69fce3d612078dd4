import { scoreAlerts, trueMinutesLeft, type GroundTruth, type ObservedAlert, type Score } from './truth.js';

/** An alert as the ingest's API lists it, with what the scorecard reads beyond its key. */
export interface ScoredAlert extends ObservedAlert {
  id: string;
  severity: string;
  causeId?: string | null;
  symptoms?: number;
  observedAt?: number | null;
}

/** A change of an alert as the engine made it, or as a console heard it on the stream. */
export interface AlertChange {
  kind: string;
  at: number;
  alert: { id: string; deviceId: string; rule: string; severity: string; causeId?: string | null; shelved?: unknown };
}

/** The ingest's time to dark for a site at a moment (resilience view), for the error against the truth. */
export interface TimeToDarkSample {
  deviceId: string;
  at: number;
  minutesLeft: number | null;
  silent: boolean;
}

export interface ErrorStats {
  samples: number;
  medianAbsMin: number | null;
  p95AbsMin: number | null;
  medianPct: number | null;
  p95Pct: number | null;
}

export interface CriticalLead {
  deviceId: string;
  darkAt: number;
  criticalAt: number | null;
  leadMin: number | null;
}

export interface Scorecard {
  scenario: string;
  alerts: Score;
  /** |raised − truth| and |cleared − truth| of the matched alerts, seconds. */
  timing: { raiseMedianSec: number | null; raiseMaxSec: number | null; clearMedianSec: number | null; clearMaxSec: number | null };
  timeToDark: { reporting: ErrorStats; silent: ErrorStats };
  /** null: not measured (the ingest's clock was not the scenario's, score-remote.ts). */
  criticalLead: CriticalLead[] | null;
  /** Escalations (and raises) to major or critical of alerts that are no symptom, and whether a console heard each. */
  escalations: { expected: number; announced: number; missing: AlertChange[] };
  symptoms: { grouped: number; roots: Array<{ rule: string; deviceId: string; object: string | null; symptoms: number }> };
}

/** Relative errors are judged while the truth is at least this long: near the end a few minutes are a large share. */
const RELATIVE_FROM_MIN = 30;
const CRITICAL = ['time-to-dark', 'battery-low', 'site-presumed-dark'];

const quantile = (xs: readonly number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

function errorStats(pairs: ReadonlyArray<{ estimate: number; truth: number }>): ErrorStats {
  const abs = pairs.map((p) => Math.abs(p.estimate - p.truth));
  const rel = pairs.filter((p) => p.truth >= RELATIVE_FROM_MIN).map((p) => (Math.abs(p.estimate - p.truth) / p.truth) * 100);
  return { samples: pairs.length, medianAbsMin: round1(quantile(abs, 0.5)), p95AbsMin: round1(quantile(abs, 0.95)), medianPct: round1(quantile(rel, 0.5)), p95Pct: round1(quantile(rel, 0.95)) };
}

/**
 * The scenario's scorecard against its ground truth: alert precision and recall with raise and clear
 * timing; time-to-dark error while each site reports and while it is silent; the lead of each dark site's
 * first critical alert; every escalation to major or critical announced on the stream; symptoms grouped.
 */
export function scoreScenario(
  truth: GroundTruth,
  o: { alerts: readonly ScoredAlert[]; changes: readonly AlertChange[]; streamed: readonly AlertChange[]; timeToDark: readonly TimeToDarkSample[] },
  options: { clearTiming?: boolean } = {},
): Scorecard {
  const alerts = scoreAlerts(truth, o.alerts, options);
  const matched = o.alerts.filter((a) => truth.scoredRules.includes(a.rule) && !alerts.falsePositives.includes(a));
  const expectedOf = (a: ObservedAlert) => truth.alerts.filter((e) => e.rule === a.rule && e.deviceId === a.deviceId && e.object === (a.object ?? null)).sort((x, y) => Math.abs(x.raisedAt - a.raisedAt) - Math.abs(y.raisedAt - a.raisedAt))[0];
  const raise = matched.map((a) => Math.abs(a.raisedAt - (expectedOf(a)?.raisedAt ?? a.raisedAt)) / 1000);
  const clear = options.clearTiming === false ? [] : matched.filter((a) => a.clearedAt !== null).map((a) => Math.abs(a.clearedAt! - (expectedOf(a)?.clearedAt ?? a.clearedAt!)) / 1000);

  const pairs = { reporting: [] as Array<{ estimate: number; truth: number }>, silent: [] as Array<{ estimate: number; truth: number }> };
  for (const s of o.timeToDark) {
    const t = trueMinutesLeft(truth, s.deviceId, s.at);
    if (t === null || s.minutesLeft === null) continue;
    (s.silent ? pairs.silent : pairs.reporting).push({ estimate: s.minutesLeft, truth: t });
  }

  const criticalLead = truth.sitesDark.map((d) => {
    const first = o.changes.find((c) => c.alert.deviceId === d.deviceId && CRITICAL.includes(c.alert.rule) && c.alert.severity === 'critical' && c.kind !== 'cleared' && c.at <= d.from);
    const criticalAt = first?.at ?? null;
    return { deviceId: d.deviceId, darkAt: d.from, criticalAt, leadMin: criticalAt === null ? null : Math.round((d.from - criticalAt) / 60_000) };
  });

  const high = (severity: string) => severity === 'major' || severity === 'critical';
  const expected = o.changes.filter((c) => (c.kind === 'raised' || c.kind === 'escalated') && high(c.alert.severity) && !c.alert.causeId && !c.alert.shelved);
  const heard = new Set(o.streamed.map((c) => `${c.alert.id}|${c.kind}|${c.alert.severity}`));
  const missing = expected.filter((c) => !heard.has(`${c.alert.id}|${c.kind}|${c.alert.severity}`));

  // Every alert that was ever grouped under each cause (causes clear, and release what persists).
  const groupedUnder = new Map<string, Set<string>>();
  for (const c of o.changes) if (c.alert.causeId) groupedUnder.set(c.alert.causeId, (groupedUnder.get(c.alert.causeId) ?? new Set()).add(c.alert.id));
  const roots = o.alerts.filter((a) => groupedUnder.has(a.id));
  return {
    scenario: truth.scenario,
    alerts,
    timing: { raiseMedianSec: quantile(raise, 0.5), raiseMaxSec: quantile(raise, 1), clearMedianSec: quantile(clear, 0.5), clearMaxSec: quantile(clear, 1) },
    timeToDark: { reporting: errorStats(pairs.reporting), silent: errorStats(pairs.silent) },
    criticalLead,
    escalations: { expected: expected.length, announced: expected.length - missing.length, missing },
    symptoms: {
      grouped: new Set([...groupedUnder.values()].flatMap((ids) => [...ids])).size,
      roots: roots.map((a) => ({ rule: a.rule, deviceId: a.deviceId, object: a.object, symptoms: groupedUnder.get(a.id)?.size ?? 0 })),
    },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const show = (x: number | null, unit: string) => (x === null ? 'n/a' : `${x}${unit}`);

/** The scorecard as an operator-readable table (printed by `npm run sim -- scenario <file> --score`). */
export function formatScorecard(s: Scorecard): string {
  const t = s.timeToDark;
  const leads = s.criticalLead === null ? 'not measured' : s.criticalLead.map((l) => `${l.deviceId} ${l.leadMin === null ? 'NO CRITICAL ALERT' : `${l.leadMin} min`}`).join(', ') || 'no site went dark';
  const lines = [
    `scorecard: ${s.scenario}`,
    `  alerts            precision ${pct(s.alerts.precision)}, recall ${pct(s.alerts.recall)} (${s.alerts.truePositives} matched, ${s.alerts.falsePositives.length} false, ${s.alerts.falseNegatives.length} missed)`,
    `  timing            raise: median ${show(s.timing.raiseMedianSec, ' s')}, max ${show(s.timing.raiseMaxSec, ' s')}; clear: median ${show(s.timing.clearMedianSec, ' s')}, max ${show(s.timing.clearMaxSec, ' s')}`,
    `  time to dark      while reporting: ${t.reporting.samples} samples, abs error median ${show(t.reporting.medianAbsMin, ' min')}, p95 ${show(t.reporting.p95AbsMin, ' min')}; relative median ${show(t.reporting.medianPct, ' %')}, p95 ${show(t.reporting.p95Pct, ' %')}`,
    `                    while silent:    ${t.silent.samples} samples, abs error median ${show(t.silent.medianAbsMin, ' min')}, p95 ${show(t.silent.p95AbsMin, ' min')}; relative median ${show(t.silent.medianPct, ' %')}, p95 ${show(t.silent.p95Pct, ' %')}`,
    `  critical lead     ${leads}`,
    `  escalations       ${s.escalations.announced} of ${s.escalations.expected} raises/escalations to major or critical announced on the stream`,
    `  root causes       ${s.symptoms.roots.map((r) => `${r.rule} ${r.object ?? r.deviceId}: ${r.symptoms} symptoms`).join('; ') || 'none'}`,
  ];
  for (const fp of s.alerts.falsePositives) lines.push(`  false alert       ${fp.rule} ${fp.deviceId} ${fp.object ?? ''}`);
  for (const fn of s.alerts.falseNegatives) lines.push(`  missed alert      ${fn.rule} ${fn.deviceId} ${fn.object ?? ''}`);
  for (const m of s.escalations.missing) lines.push(`  not announced     ${m.kind} ${m.alert.rule} ${m.alert.deviceId} → ${m.alert.severity}`);
  return lines.join('\n');
}

/** Issue 14's targets: precision and recall 100 %, time-to-dark p95 ≤ 10 % reporting and ≤ 15 % silent, leads ≥ 55 min, no escalation unannounced. */
export const TARGETS = { reportingP95Pct: 10, silentP95Pct: 15, criticalLeadMin: 55 } as const;

/** The targets a scorecard misses, in words (empty: all met). */
export function missedTargets(s: Scorecard): string[] {
  const missed: string[] = [];
  if (s.alerts.precision < 1) missed.push(`precision ${pct(s.alerts.precision)} < 100 %`);
  if (s.alerts.recall < 1) missed.push(`recall ${pct(s.alerts.recall)} < 100 %`);
  const { reporting, silent } = s.timeToDark;
  if (reporting.p95Pct !== null && reporting.p95Pct > TARGETS.reportingP95Pct) missed.push(`time to dark while reporting: p95 ${reporting.p95Pct} % > ${TARGETS.reportingP95Pct} %`);
  if (silent.p95Pct !== null && silent.p95Pct > TARGETS.silentP95Pct) missed.push(`time to dark while silent: p95 ${silent.p95Pct} % > ${TARGETS.silentP95Pct} %`);
  for (const l of s.criticalLead ?? []) {
    if (l.leadMin === null) missed.push(`${l.deviceId} went dark with no critical alert before`);
    else if (l.leadMin < TARGETS.criticalLeadMin) missed.push(`${l.deviceId}: critical alert only ${l.leadMin} min before dark (< ${TARGETS.criticalLeadMin})`);
  }
  if (s.escalations.missing.length > 0) missed.push(`${s.escalations.missing.length} raises or escalations to major or critical not announced`);
  return missed;
}
