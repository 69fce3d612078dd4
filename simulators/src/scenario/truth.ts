import { createModel } from '../create-model.js';
import type { FleetDeviceSpec } from '../fleet-spec.js';
import { DEFAULT_RING_TOPOLOGY } from '../ring-topology.js';
import { isolatedIslands, type CompiledScenario } from './compile.js';

/** A model event as the runner saw it; `published` false: the device could not be heard then (kept for replay). */
export interface RecordedEvent {
  deviceId: string;
  type: string;
  ts: number;
  published?: boolean;
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

/**
 * One site's time on battery, from the simulated plant itself. `darkAt` is when its disconnect really
 * tripped (null: mains came back first, or the run ended). The true minutes left at a moment are
 * `counterfactual` dark time − that moment, where the counterfactual is the same plant run on with
 * nothing new happening (mains stays off; a generator failure counts only once it has happened).
 */
export interface Discharge {
  deviceId: string;
  from: number;
  to: number | null;
  darkAt: number | null;
  counterfactual: Array<{ from: number; to: number | null; darkAt: number | null }>;
  /** The true minutes to the disconnect at each of the site's readings on battery: [reading ts, minutes]. */
  readings: Array<[ts: number, minutesLeft: number]>;
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
  discharges: Discharge[];
  events: RecordedEvent[];
}

export const SCORED_RULES = ['mains-lost', 'generator-fault', 'backhaul-down', 'battery-low', 'district-mains-lost', 'ring-segment-down', 'ring-board-fault', 'ring-island-isolated'];
/** The engine's id for the ring as a managed object (ingest `ring.name`). */
export const RING_DEVICE_ID = 'izu-ring';
/** A district power cut is told from a single site's fault once this many of its sites lost mains. */
export const DISTRICT_MIN_SITES = 2;

export { isolatedIslands };

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
  isOpen(key: string): boolean {
    return this.open.has(key);
  }
}

const BS_RULES: Record<string, Array<[rule: string, active: boolean]>> = {
  mains_lost: [['mains-lost', true]],
  mains_restored: [['mains-lost', false], ['battery-low', false]],
  generator_fault: [['generator-fault', true]],
  backhaul_down: [['backhaul-down', true]],
  backhaul_fiber: [['backhaul-down', false]],
  battery_low: [['battery-low', true]],
};

/** Runs a plant model on the runner's grid until its disconnect trips (or `untilTs`). */
function darkTime(spec: FleetDeviceSpec, seed: number, t0: number, stepMs: number, untilTs: number): number | null {
  const model = createModel(spec, seed);
  for (let ts = t0; ts <= untilTs; ts += stepMs) {
    const dark = model.step(ts).events.find((e) => e.type === 'backhaul_down');
    if (dark) return dark.ts;
  }
  return null;
}

/** Each site's discharges with the true minutes left (see Discharge). */
function discharges(compiled: CompiledScenario, seed: number, events: readonly RecordedEvent[], stepMs: number): Discharge[] {
  const out: Discharge[] = [];
  const horizon = compiled.endTs + 14 * 86_400_000;
  for (const spec of compiled.devices) {
    if (spec.type !== 'bs-power') continue;
    const mine = events.filter((e) => e.deviceId === spec.id);
    const sim = spec.simulation ?? {};
    for (const lost of mine.filter((e) => e.type === 'mains_lost')) {
      const restored = mine.find((e) => e.type === 'mains_restored' && e.ts >= lost.ts);
      const dark = mine.find((e) => e.type === 'backhaul_down' && e.ts >= lost.ts && (!restored || e.ts < restored.ts));
      const end = restored?.ts ?? null;
      // Nothing new happens: mains stays off; a scripted generator failure counts once it has happened.
      const { mainsRestoredAtTs: _back, generatorFailsAtTs: fails, ...rest } = sim;
      const before = { ...spec, simulation: rest } as FleetDeviceSpec;
      const after = { ...spec, simulation: { ...rest, ...(fails !== undefined ? { generatorFailsAtTs: fails } : {}) } } as FleetDeviceSpec;
      const pieces: Discharge['counterfactual'] = [];
      if (fails !== undefined && fails > lost.ts && (end === null || fails < end)) {
        pieces.push({ from: lost.ts, to: fails, darkAt: darkTime(before, seed, compiled.runFrom, stepMs, horizon) });
        pieces.push({ from: fails, to: end, darkAt: darkTime(after, seed, compiled.runFrom, stepMs, horizon) });
      } else {
        pieces.push({ from: lost.ts, to: end, darkAt: darkTime(fails !== undefined && fails <= lost.ts ? after : before, seed, compiled.runFrom, stepMs, horizon) });
      }
      const d: Discharge = { deviceId: spec.id, from: lost.ts, to: end, darkAt: dark?.ts ?? null, counterfactual: pieces, readings: [] };
      const sampleMs = spec.sampleSec * 1000;
      const stop = Math.min(end ?? compiled.endTs, dark?.ts ?? Infinity, compiled.endTs);
      for (let ts = compiled.runFrom + Math.ceil((lost.ts - compiled.runFrom) / sampleMs) * sampleMs; ts < stop; ts += sampleMs) {
        const left = trueMinutesLeft({ discharges: [d] }, spec.id, ts);
        if (left !== null) d.readings.push([ts, Math.round(left * 10) / 10]);
      }
      out.push(d);
    }
  }
  return out;
}

/** True minutes to the disconnect of a site at `ts`, or null when it is not on battery then. */
export function trueMinutesLeft(truth: Pick<GroundTruth, 'discharges'>, deviceId: string, ts: number): number | null {
  const d = truth.discharges.find((x) => x.deviceId === deviceId && ts >= x.from && (x.to === null || ts < x.to));
  if (!d || (d.darkAt !== null && ts >= d.darkAt)) return null;
  const piece = d.counterfactual.find((p) => ts >= p.from && (p.to === null || ts < p.to));
  return piece?.darkAt == null ? null : Math.max(0, (piece.darkAt - ts) / 60_000);
}

/**
 * What should happen, from what the models did (their events, in time order): the ground truth is the
 * simulated world, and the alert engine has to infer it from the messages alone. An alert is expected
 * from what could be heard (events published live); a site that went dark while it could not be heard is
 * in `sitesDark`, and scored by the lead of its critical alert instead.
 */
export function groundTruth(compiled: CompiledScenario, seed: number, events: readonly RecordedEvent[], stepMs = 60_000): GroundTruth {
  const topology = DEFAULT_RING_TOPOLOGY;
  const sorted = [...events].sort((a, b) => a.ts - b.ts);
  const alerts = new Intervals();
  const dark = new Intervals();
  const segs = new Intervals();
  const isolated = new Intervals();
  const districtOf = new Map(compiled.devices.map((d) => [d.id, typeof d.attributes['district'] === 'string' ? d.attributes['district'] : null]));
  const districtSites = new Map<string, number>();
  for (const d of districtOf.values()) if (d) districtSites.set(d, (districtSites.get(d) ?? 0) + 1);
  const offByDistrict = new Map<string, Set<string>>();
  // Segment reports: the worst of its ends' latest reports, as the ring nodes report them.
  const reports = new Map<string, Map<string, { down: boolean; board: boolean }>>();
  for (const e of sorted) {
    if (e.type === 'backhaul_down' && e.detail?.['reason'] === 'low-voltage disconnect') dark.set(e.deviceId, true, e.ts);
    if (e.type === 'mains_restored' || e.type === 'backhaul_fiber') dark.set(e.deviceId, false, e.ts);
    if (e.published === false) continue;
    // A live sample says what the plant is now: after a silence, mains may be back without its event heard.
    const type = e.type !== 'sample' ? e.type
      : e.detail?.['mains'] === 'off' && !alerts.isOpen(`mains-lost|${e.deviceId}|`) ? 'mains_lost'
      : e.detail?.['mains'] === 'on' && alerts.isOpen(`mains-lost|${e.deviceId}|`) ? 'mains_restored'
      : e.detail?.['backhaul'] === 'down' && !alerts.isOpen(`backhaul-down|${e.deviceId}|`) ? 'backhaul_down'
      : e.detail?.['backhaul'] !== 'down' && alerts.isOpen(`backhaul-down|${e.deviceId}|`) ? 'backhaul_fiber'
      : 'sample';
    const bs = BS_RULES[type];
    if (bs) {
      for (const [rule, active] of bs) if (active || alerts.isOpen(`${rule}|${e.deviceId}|`)) alerts.set(`${rule}|${e.deviceId}|`, active, e.ts);
      const district = districtOf.get(e.deviceId);
      if (district && (type === 'mains_lost' || type === 'mains_restored') && (districtSites.get(district) ?? 0) >= DISTRICT_MIN_SITES) {
        const off = offByDistrict.get(district) ?? new Set<string>();
        if (type === 'mains_lost') off.add(e.deviceId);
        else off.delete(e.deviceId);
        offByDistrict.set(district, off);
        alerts.set(`district-mains-lost|district:${district}|`, off.size >= DISTRICT_MIN_SITES, e.ts);
      }
      continue;
    }
    if (e.type !== 'link_down' && e.type !== 'link_up') continue;
    const segment = String(e.detail?.['segment']);
    const byReporter = reports.get(segment) ?? new Map<string, { down: boolean; board: boolean }>();
    const board = e.type === 'link_down' && e.detail?.['supervisory'] === 'up';
    byReporter.set(e.deviceId, { down: e.type === 'link_down', board });
    reports.set(segment, byReporter);
    const states = [...byReporter.values()];
    const cut = states.some((r) => r.down && !r.board);
    const boardFault = !cut && states.some((r) => r.board);
    segs.set(segment, cut || boardFault, e.ts);
    alerts.set(`ring-segment-down|${RING_DEVICE_ID}|${segment}`, cut, e.ts);
    alerts.set(`ring-board-fault|${RING_DEVICE_ID}|${segment}`, boardFault, e.ts);
    const down = new Set([...reports].filter(([, r]) => [...r.values()].some((x) => x.down)).map(([id]) => id));
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
    discharges: discharges(compiled, seed, sorted, stepMs),
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
 * tolerance, and cleared within it (or both still active; with `clearTiming: false`, both cleared).
 */
export function scoreAlerts(truth: Pick<GroundTruth, 'alerts' | 'scoredRules' | 'toleranceMs'>, observed: readonly ObservedAlert[], o: { clearTiming?: boolean } = {}): Score {
  const clearTiming = o.clearTiming ?? true;
  const tol = truth.toleranceMs;
  const pool = observed.filter((a) => truth.scoredRules.includes(a.rule));
  const unmatched = new Set(pool);
  const falseNegatives: ExpectedAlert[] = [];
  for (const e of truth.alerts) {
    const hit = [...unmatched].find(
      (a) => a.rule === e.rule && a.deviceId === e.deviceId && (a.object ?? null) === e.object && Math.abs(a.raisedAt - e.raisedAt) <= tol &&
        (e.clearedAt === null ? a.clearedAt === null : a.clearedAt !== null && (!clearTiming || Math.abs(a.clearedAt - e.clearedAt) <= tol)),
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
