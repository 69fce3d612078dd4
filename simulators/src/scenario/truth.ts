import { DEFAULT_RING_TOPOLOGY, type RingTopology } from '../ring-topology.js';
import type { CompiledScenario } from './compile.js';

/** A model event as the runner published it. */
export interface RecordedEvent {
  deviceId: string;
  type: string;
  ts: number;
  detail?: Record<string, unknown>;
}

/** One alert the engine should raise: its key as the engine names it (rule id, device, object). */
export interface ExpectedAlert {
  rule: string;
  deviceId: string;
  object: string | null;
  raisedAt: number;
  /** null: still active at the end of the run. */
  clearedAt: number | null;
}

export interface Interval {
  from: number;
  to: number | null;
}

export interface GroundTruth {
  scenario: string;
  seed: number;
  t0: number;
  endTs: number;
  /** Rules the truth is complete for: precision and recall are computed over these only. */
  scoredRules: string[];
  /** Tolerance for raise/clear times, ms (one sample interval: alerts follow the next report). */
  toleranceMs: number;
  alerts: ExpectedAlert[];
  islandsIsolated: Array<{ island: string } & Interval>;
  sitesDark: Array<{ deviceId: string; site: string } & Interval>;
  segmentsDown: Array<{ segment: string } & Interval>;
  events: RecordedEvent[];
}

export const SCORED_RULES = ['mains-lost', 'generator-fault', 'backhaul-down', 'ring-segment-down', 'ring-island-isolated'];
/** The engine's id for the ring as a managed object (ingest `ring.name`). */
export const RING_DEVICE_ID = 'izu-ring';

/** Opens and closes intervals keyed by name. */
class Intervals {
  readonly list: Array<{ key: string } & Interval> = [];
  private readonly open = new Map<string, { key: string } & Interval>();
  set(key: string, active: boolean, ts: number): void {
    const cur = this.open.get(key);
    if (active && !cur) {
      const iv = { key, from: ts, to: null };
      this.open.set(key, iv);
      this.list.push(iv);
    } else if (!active && cur) {
      cur.to = ts;
      this.open.delete(key);
    }
  }
}

const BS_RULES: Record<string, [rule: string, active: boolean]> = {
  mains_lost: ['mains-lost', true],
  mains_restored: ['mains-lost', false],
  generator_fault: ['generator-fault', true],
  backhaul_down: ['backhaul-down', true],
  backhaul_fiber: ['backhaul-down', false],
};

/** Islands with no path of segments that are not down to a gateway (upstream links assumed up). */
export function isolatedIslands(topology: RingTopology, down: ReadonlySet<string>): string[] {
  const reached = new Set<string>(topology.gateways);
  const queue = [...topology.gateways];
  while (queue.length > 0) {
    const island = queue.shift()!;
    for (const s of topology.segments) {
      if (down.has(s.id) || !s.ends.includes(island)) continue;
      const other = s.ends[0] === island ? s.ends[1] : s.ends[0];
      if (!reached.has(other)) {
        reached.add(other);
        queue.push(other);
      }
    }
  }
  return topology.islands.filter((i) => !reached.has(i));
}

/**
 * What should happen, from what the models did (their events, in time order): the ground truth is the
 * simulated world, and the alert engine has to infer it from the messages alone.
 */
export function groundTruth(compiled: CompiledScenario, seed: number, events: readonly RecordedEvent[]): GroundTruth {
  const topology = DEFAULT_RING_TOPOLOGY;
  const sorted = [...events].sort((a, b) => a.ts - b.ts);
  const alerts = new Intervals();
  const dark = new Intervals();
  const segs = new Intervals();
  const isolated = new Intervals();
  // Segment state is the worst of its ends' latest reports, as the ring nodes report it.
  const reports = new Map<string, Map<string, boolean>>();
  const down = new Set<string>();
  for (const e of sorted) {
    const bs = BS_RULES[e.type];
    if (bs) {
      alerts.set(`${bs[0]}|${e.deviceId}|`, bs[1], e.ts);
      if (bs[0] === 'backhaul-down') dark.set(e.deviceId, bs[1], e.ts);
      continue;
    }
    if (e.type !== 'link_down' && e.type !== 'link_up') continue;
    const segment = String(e.detail?.['segment']);
    const byReporter = reports.get(segment) ?? new Map<string, boolean>();
    byReporter.set(e.deviceId, e.type === 'link_down');
    reports.set(segment, byReporter);
    const isDown = [...byReporter.values()].some(Boolean);
    if (isDown) down.add(segment);
    else down.delete(segment);
    segs.set(segment, isDown, e.ts);
    alerts.set(`ring-segment-down|${RING_DEVICE_ID}|${segment}`, isDown, e.ts);
    const cutOff = new Set(isolatedIslands(topology, down));
    for (const island of topology.islands) {
      isolated.set(island, cutOff.has(island), e.ts);
      alerts.set(`ring-island-isolated|${RING_DEVICE_ID}|${island}`, cutOff.has(island), e.ts);
    }
  }
  const siteOf = new Map(compiled.scenario.sites.map((s) => [s.id, s.site]));
  const sampleMs = Math.max(...Object.values(compiled.scenario.sampleSec)) * 1000;
  return {
    scenario: compiled.scenario.name,
    seed,
    t0: compiled.t0,
    endTs: compiled.endTs,
    scoredRules: SCORED_RULES,
    toleranceMs: sampleMs,
    alerts: alerts.list.map(({ key, from, to }) => {
      const [rule, deviceId, object] = key.split('|') as [string, string, string];
      return { rule, deviceId, object: object === '' ? null : object, raisedAt: from, clearedAt: to };
    }),
    islandsIsolated: isolated.list.map(({ key, ...iv }) => ({ island: key, ...iv })),
    sitesDark: dark.list.map(({ key, ...iv }) => ({ deviceId: key, site: siteOf.get(key) ?? key, ...iv })),
    segmentsDown: segs.list.map(({ key, ...iv }) => ({ segment: key, ...iv })),
    events: sorted,
  };
}

/** An alert as the ingest's API lists it (the fields the comparison needs). */
export interface ObservedAlert {
  rule: string;
  deviceId: string;
  object: string | null;
  raisedAt: number;
  clearedAt: number | null;
}

export interface Score {
  truePositives: number;
  falsePositives: ObservedAlert[];
  falseNegatives: ExpectedAlert[];
  precision: number;
  recall: number;
}

/**
 * Matches observed alerts of the scored rules to the expected ones: same key, raised within the
 * tolerance, and cleared within it (or both still active).
 */
export function scoreAlerts(truth: Pick<GroundTruth, 'alerts' | 'scoredRules' | 'toleranceMs'>, observed: readonly ObservedAlert[]): Score {
  const tol = truth.toleranceMs;
  const pool = observed.filter((a) => truth.scoredRules.includes(a.rule));
  const unmatched = new Set(pool);
  const falseNegatives: ExpectedAlert[] = [];
  for (const e of truth.alerts) {
    const hit = [...unmatched].find(
      (a) => a.rule === e.rule && a.deviceId === e.deviceId && (a.object ?? null) === e.object && Math.abs(a.raisedAt - e.raisedAt) <= tol &&
        (e.clearedAt === null ? a.clearedAt === null : a.clearedAt !== null && Math.abs(a.clearedAt - e.clearedAt) <= tol),
    );
    if (hit) unmatched.delete(hit);
    else falseNegatives.push(e);
  }
  const tp = truth.alerts.length - falseNegatives.length;
  return {
    truePositives: tp,
    falsePositives: [...unmatched],
    falseNegatives,
    precision: pool.length === 0 ? 1 : tp / pool.length,
    recall: truth.alerts.length === 0 ? 1 : tp / truth.alerts.length,
  };
}
