import type { RingNodeSample } from '@tsunagaru/firmware-contracts';
import { ringStatus, type RingStatus, type SegmentState } from '../ring.js';
import type { RuleContext } from './context.js';

/** One ring node's latest word on one segment: the main (traffic) signal and, when given, the supervisory channel. */
export interface SegmentReport {
  state: SegmentState;
  /** Contract v1 ring-node `segments[].supervisory`: up while the cable still carries light. */
  supervisory?: 'up' | 'down';
  /** Device time of the report (epoch ms). */
  ts: number;
}

/** Latest report on each segment from each ring node: segment id → reporter → report. */
type SegmentReports = Record<string, Record<string, SegmentReport>>;

const SCOPE = 'ring:segments';
/** Ring nodes' reporting intervals from their births: deviceId → s. */
const INTERVALS = 'ring:intervals';
const RANK: Record<SegmentState, number> = { up: 0, degraded: 1, down: 2 };

/** Loss of the main signal with the supervisory channel up: a terminal board, not the cable (domain notes). */
export const isBoardFault = (r: SegmentReport) => r.state === 'down' && r.supervisory === 'up';

/** A report is fresh for `reportExpiryIntervals` of its reporter's interval; after that it says nothing. */
function isFresh(ctx: Pick<RuleContext, 'state' | 'config' | 'now'>, reporter: string, r: SegmentReport): boolean {
  const intervalSec = ctx.state.get<Record<string, number>>(INTERVALS)?.[reporter] ?? ctx.config.ring.defaultReportSec;
  return ctx.now - r.ts <= ctx.config.ring.reportExpiryIntervals * intervalSec * 1000;
}

function worst(reports: readonly SegmentReport[]): SegmentReport | undefined {
  return reports.reduce<SegmentReport | undefined>((w, r) => (!w || RANK[r.state] > RANK[w.state] ? r : w), undefined);
}

/** What is known of one segment: from fresh reports when there are any, else the last known. */
export interface SegmentKnowledge {
  /** Worst of the fresh reports, or of all reports when none is fresh (for alarms, which do not clear on silence). */
  lastKnown: SegmentReport | undefined;
  /** No report is fresh: the view shows `unknown`. */
  stale: boolean;
  /** Newest report's device time. */
  lastReportAt: number | null;
}

export function segmentKnowledge(ctx: Pick<RuleContext, 'state' | 'config' | 'now'>, segmentId: string): SegmentKnowledge {
  const byReporter = Object.entries(ctx.state.get<SegmentReports>(SCOPE)?.[segmentId] ?? {});
  const fresh = byReporter.filter(([reporter, r]) => isFresh(ctx, reporter, r)).map(([, r]) => r);
  const all = byReporter.map(([, r]) => r);
  return {
    lastKnown: worst(fresh.length > 0 ? fresh : all),
    stale: fresh.length === 0,
    lastReportAt: all.length === 0 ? null : Math.max(...all.map((r) => r.ts)),
  };
}

/**
 * A segment is seen from both ends. A cut shows as loss of signal at both (domain notes), and the island
 * on the far side of a cut often cannot report at all; so the worst of the ends' reports counts.
 */
export function segmentState(ctx: Pick<RuleContext, 'state' | 'config' | 'now'>, segmentId: string): SegmentState | undefined {
  return segmentKnowledge(ctx, segmentId).lastKnown?.state;
}

export function currentRing(ctx: Pick<RuleContext, 'state' | 'config' | 'now'>): RingStatus & { reporters: SegmentReports } {
  return { ...ringStatus(ctx.config.ring.topology, (id) => segmentState(ctx, id)), reporters: ctx.state.get<SegmentReports>(SCOPE) ?? {} };
}

/** A ring node's birth says how often it reports, so its reports can expire. */
export function onRingNodeBirth(ctx: RuleContext, deviceId: string, sampleSec: number | undefined): void {
  if (sampleSec === undefined || !(sampleSec > 0)) return;
  const intervals = ctx.state.get<Record<string, number>>(INTERVALS) ?? {};
  if (intervals[deviceId] === sampleSec) return;
  ctx.state.set(INTERVALS, { ...intervals, [deviceId]: sampleSec });
}

function record(ctx: RuleContext, deviceId: string, items: ReadonlyArray<{ id: string } & SegmentReport>): void {
  const reports: SegmentReports = { ...(ctx.state.get<SegmentReports>(SCOPE) ?? {}) };
  for (const item of items) {
    const bySource = { ...(reports[item.id] ?? {}) };
    if ((bySource[deviceId]?.ts ?? -Infinity) > item.ts) continue;
    bySource[deviceId] = { state: item.state, ts: item.ts, ...(item.supervisory ? { supervisory: item.supervisory } : {}) };
    reports[item.id] = bySource;
  }
  ctx.state.set(SCOPE, reports);
  evaluateRing(ctx);
}

export function onRingSamples(ctx: RuleContext, deviceId: string, samples: readonly RingNodeSample[]): void {
  record(ctx, deviceId, samples.flatMap((s) => s.segments.map((seg) => ({ id: seg.id, state: seg.state, ts: s.ts, ...(seg.supervisory ? { supervisory: seg.supervisory } : {}) }))));
}

const LINK_EVENTS: Record<string, SegmentState> = { link_down: 'down', link_up: 'up', link_degraded: 'degraded' };

/**
 * `link_*` events are acted on at once (contract v1: ring-node events), not at the next telemetry minutes
 * later. The event names its segment in `detail.segment`, and may carry `detail.supervisory`.
 */
export function onRingEvent(ctx: RuleContext, deviceId: string, type: string, ts: number, detail: Record<string, unknown> | undefined): void {
  const state = LINK_EVENTS[type];
  const segment = detail?.['segment'];
  if (!state || typeof segment !== 'string') return;
  const supervisory = detail?.['supervisory'];
  record(ctx, deviceId, [{ id: segment, state, ts, ...(supervisory === 'up' || supervisory === 'down' ? { supervisory } : {}) }]);
}

/**
 * Reports every segment, upstream and island each time, so what is no longer true clears. Alarms rest on
 * what was last known (a cut does not clear because the island beyond it went quiet); the view marks what
 * rests only on expired reports (resilience.ts).
 */
export function evaluateRing(ctx: RuleContext): void {
  const { name, topology } = ctx.config.ring;
  const reports = ctx.state.get<SegmentReports>(SCOPE) ?? {};
  // Board faults leave the cable whole, but the segment carries no traffic either way.
  const status = ringStatus(topology, (id) => segmentState(ctx, id));
  const rules = ctx.config.rules;
  const base = { deviceId: name, deviceType: 'ring-node' as const };
  const isolatedText = status.isolated.length > 0 ? `; isolated: ${status.isolated.join(', ')}` : '; the ring reroutes, no island isolated';
  for (const seg of status.segments) {
    const known = segmentKnowledge(ctx, seg.id);
    const reporters = Object.keys(reports[seg.id] ?? {});
    const boardAt = Object.entries(reports[seg.id] ?? {}).filter(([reporter, r]) => isBoardFault(r) && isFresh(ctx, reporter, r)).map(([reporter]) => reporter);
    const cut = seg.state === 'down' && boardAt.length === 0;
    const observedAt = known.lastKnown?.ts;
    const at = observedAt !== undefined ? { observedAt } : {};
    ctx.report({
      ...base, ...at, rule: 'ring-segment-down', object: seg.id, active: cut,
      // One cut is protected by the ring (Minor at most); a cut that leaves an island cut off is not.
      severity: seg.unprotected ? 'major' : rules['ring-segment-down'].severity,
      message: `segment ${seg.id} cut (no signal on the main and supervisory channels)${seg.unprotected ? ', unprotected' : ' (protected by the ring)'}${isolatedText}`,
      detail: { ends: seg.ends, reporters, stale: known.stale },
    });
    ctx.report({
      ...base, ...at, rule: 'ring-board-fault', object: seg.id, active: seg.state === 'down' && boardAt.length > 0,
      severity: seg.unprotected ? 'major' : rules['ring-board-fault'].severity,
      message: `segment ${seg.id}: main signal lost with the supervisory channel up at ${boardAt.join(', ')}: a terminal board fault, not a cable cut${isolatedText}`,
      detail: { ends: seg.ends, reporters: boardAt },
    });
    ctx.report({ ...base, ...at, rule: 'ring-segment-degraded', object: seg.id, active: seg.state === 'degraded', severity: rules['ring-segment-degraded'].severity, message: `segment ${seg.id} degraded`, detail: { reporters } });
  }
  for (const up of status.upstream) {
    if (!up.segment) continue;
    ctx.report({
      ...base, rule: 'ring-upstream-down', object: up.gateway, active: up.state === 'down',
      severity: status.isolated.length > 0 ? 'major' : rules['ring-upstream-down'].severity,
      message: `upstream of gateway ${up.gateway} (${up.segment}) down${isolatedText}`,
    });
  }
  const down = status.segments.filter((s) => s.state === 'down');
  const lastDownAt = Math.max(...down.map((s) => segmentKnowledge(ctx, s.id).lastKnown?.ts ?? -Infinity));
  for (const island of status.islands) {
    ctx.report({
      ...base, rule: 'ring-island-isolated', object: island.island, active: island.isolated, severity: rules['ring-island-isolated'].severity,
      message: `${island.island} isolated: no path to a gateway (${topology.gateways.join(', ')}) over segments that are up`,
      detail: { downSegments: down.map((s) => s.id) },
      ...(Number.isFinite(lastDownAt) ? { observedAt: lastDownAt } : {}),
    });
  }
}
