/**
 * The Izu ring: which islands a cut isolates (ringStatus, the topology as a graph), and the rules on what
 * ring nodes report of their segments.
 */
import type { RingNodeSample, RingTopology } from '@tsunagaru/firmware-contracts';
import type { RuleContext } from './context.js';

/** The contract's topology, or one loaded from the rules file (segment ends as a plain array). */
export type TopologyLike = Omit<RingTopology, 'segments'> & { segments: ReadonlyArray<{ id: string; ends: readonly string[] }> };

export type SegmentState = 'up' | 'down' | 'degraded';

export interface SegmentStatus {
  id: string;
  ends: readonly string[];
  /** `unknown` until a ring node reported it; counted as carrying traffic (no false isolation alarms). */
  state: SegmentState | 'unknown';
  /** Down, and one of its ends is isolated: the ring no longer protects this cut. */
  unprotected: boolean;
}

export interface IslandStatus {
  island: string;
  gateway: boolean;
  isolated: boolean;
  /** Gateways (with their upstream up) this island reaches over segments that are not down. */
  reachableGateways: string[];
}

export interface RingStatus {
  segments: SegmentStatus[];
  upstream: Array<{ gateway: string; segment: string | null; state: SegmentState | 'unknown' }>;
  islands: IslandStatus[];
  isolated: string[];
}

/**
 * Island isolation over the configured ring (contract v1, "Default ring topology"): an island is isolated
 * when no path of segments that are not `down` joins it to a gateway that still has its upstream link.
 * Reasoned as a graph: drop the failed segments, breadth-first search from each live gateway.
 */
export function ringStatus(topology: TopologyLike, stateOf: (segmentId: string) => SegmentState | undefined): RingStatus {
  const adjacency = new Map<string, string[]>(topology.islands.map((i) => [i, []]));
  for (const s of topology.segments) {
    if (stateOf(s.id) === 'down') continue;
    const [a, b] = s.ends;
    if (a === undefined || b === undefined) continue;
    adjacency.get(a)?.push(b);
    adjacency.get(b)?.push(a);
  }
  const upstream = topology.gateways.map((gateway) => {
    const segment = topology.upstream?.[gateway] ?? null;
    return { gateway, segment, state: (segment ? stateOf(segment) : undefined) ?? ('unknown' as const) };
  });
  const reach = new Map<string, string[]>(topology.islands.map((i) => [i, []]));
  for (const { gateway, state } of upstream) {
    if (state === 'down') continue;
    const seen = new Set([gateway]);
    const queue = [gateway];
    while (queue.length > 0) {
      const island = queue.shift()!;
      reach.get(island)?.push(gateway);
      for (const next of adjacency.get(island) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
  }
  const islands = topology.islands.map((island) => {
    const reachableGateways = reach.get(island) ?? [];
    return { island, gateway: topology.gateways.includes(island), isolated: reachableGateways.length === 0, reachableGateways };
  });
  const isolated = islands.filter((i) => i.isolated).map((i) => i.island);
  const segments = topology.segments.map((s) => {
    const state: SegmentStatus['state'] = stateOf(s.id) ?? 'unknown';
    return { id: s.id, ends: s.ends, state, unprotected: state === 'down' && s.ends.some((e) => isolated.includes(e)) };
  });
  return { segments, upstream, islands, isolated };
}


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
