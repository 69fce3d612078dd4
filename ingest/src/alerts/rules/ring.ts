import type { RingNodeSample } from '@tsunagaru/firmware-contracts';
import { ringStatus, type RingStatus, type SegmentState } from '../ring.js';
import type { RuleContext } from './context.js';

/** Latest state of each segment as each ring node reported it: segment id → reporter → report. */
type SegmentReports = Record<string, Record<string, { state: SegmentState; ts: number }>>;

const SCOPE = 'ring:segments';
const RANK: Record<SegmentState, number> = { up: 0, degraded: 1, down: 2 };

/**
 * A segment is seen from both ends. A cut shows as loss of signal at both (domain notes), and the island
 * on the far side of a cut often cannot report at all; so the worst of the ends' latest reports counts.
 */
export function segmentState(ctx: Pick<RuleContext, 'state'>, segmentId: string): SegmentState | undefined {
  const reports = Object.values(ctx.state.get<SegmentReports>(SCOPE)?.[segmentId] ?? {});
  if (reports.length === 0) return undefined;
  return reports.reduce<SegmentState>((worst, r) => (RANK[r.state] > RANK[worst] ? r.state : worst), 'up');
}

export function currentRing(ctx: Pick<RuleContext, 'state' | 'config'>): RingStatus & { reporters: SegmentReports } {
  return { ...ringStatus(ctx.config.ring.topology, (id) => segmentState(ctx, id)), reporters: ctx.state.get<SegmentReports>(SCOPE) ?? {} };
}

export function onRingSamples(ctx: RuleContext, deviceId: string, samples: readonly RingNodeSample[]): void {
  const reports: SegmentReports = { ...(ctx.state.get<SegmentReports>(SCOPE) ?? {}) };
  for (const s of samples) {
    for (const seg of s.segments) {
      const bySource = { ...(reports[seg.id] ?? {}) };
      if ((bySource[deviceId]?.ts ?? -Infinity) > s.ts) continue;
      bySource[deviceId] = { state: seg.state, ts: s.ts };
      reports[seg.id] = bySource;
    }
  }
  ctx.state.set(SCOPE, reports);
  evaluateRing(ctx);
}

/** Reports every segment, upstream and island each time, so what is no longer true clears. */
export function evaluateRing(ctx: RuleContext): void {
  const { name, topology } = ctx.config.ring;
  const status = currentRing(ctx);
  const rules = ctx.config.rules;
  const base = { deviceId: name, deviceType: 'ring-node' as const };
  const isolatedText = status.isolated.length > 0 ? `; isolated: ${status.isolated.join(', ')}` : '; the ring reroutes, no island isolated';
  for (const seg of status.segments) {
    const reporters = Object.keys(status.reporters[seg.id] ?? {});
    ctx.report({
      ...base, rule: 'ring-segment-down', object: seg.id, active: seg.state === 'down',
      // One cut is protected by the ring (Minor at most); a cut that leaves an island cut off is not.
      severity: seg.unprotected ? 'major' : rules['ring-segment-down'].severity,
      message: `segment ${seg.id} down${seg.unprotected ? ', unprotected' : ' (protected by the ring)'}${isolatedText}`,
      detail: { ends: seg.ends, reporters },
    });
    ctx.report({ ...base, rule: 'ring-segment-degraded', object: seg.id, active: seg.state === 'degraded', severity: rules['ring-segment-degraded'].severity, message: `segment ${seg.id} degraded`, detail: { reporters } });
  }
  for (const up of status.upstream) {
    if (!up.segment) continue;
    ctx.report({
      ...base, rule: 'ring-upstream-down', object: up.gateway, active: up.state === 'down',
      severity: status.isolated.length > 0 ? 'major' : rules['ring-upstream-down'].severity,
      message: `upstream of gateway ${up.gateway} (${up.segment}) down${isolatedText}`,
    });
  }
  for (const island of status.islands) {
    ctx.report({
      ...base, rule: 'ring-island-isolated', object: island.island, active: island.isolated, severity: rules['ring-island-isolated'].severity,
      message: `${island.island} isolated: no path to a gateway (${topology.gateways.join(', ')}) over segments that are up`,
      detail: { downSegments: status.segments.filter((s) => s.state === 'down').map((s) => s.id) },
    });
  }
}
