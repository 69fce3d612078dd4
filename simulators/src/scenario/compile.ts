import { DEFAULT_RING_TOPOLOGY, segmentsAt, type RingTopology } from '../ring-topology.js';
import type { FleetDeviceSpec } from '../fleet-spec.js';
import type { SegmentFault } from '../ring-node.js';
import { parseOffset, ScenarioError, type Scenario } from './schema.js';

export interface CompiledScenario {
  scenario: Scenario;
  /** When the devices start: t0 less the warm-up. */
  runFrom: number;
  t0: number;
  endTs: number;
  /** Every device of the run, with the model options the timeline sets (mains loss, generator failure, cuts). */
  devices: FleetDeviceSpec[];
  /** Segment faults of the run (cuts and board faults), for the ground truth and for who can be heard. */
  faults: readonly SegmentFault[];
  /** Sites whose own backhaul is cut, and when. */
  backhaulCuts: ReadonlyArray<{ site: string; fromTs: number; toTs?: number }>;
}

/** Segments that carry no traffic at `ts`: cut, or lost to a board fault at one end. */
export function segmentsDownAt(compiled: Pick<CompiledScenario, 'faults'>, ts: number): Set<string> {
  return new Set(compiled.faults.filter((f) => (f.state ?? 'down') !== 'degraded' && ts >= f.fromTs && (f.toTs === undefined || ts < f.toTs)).map((f) => f.segment));
}

/** Islands with no path of working segments to a gateway (upstream links assumed up). */
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
 * Whether a device can be heard at `ts`: not when its island is cut off from every gateway, nor while its
 * own backhaul is cut. It keeps what it measures and replays it once it can be heard again.
 */
export function unreachableAt(compiled: CompiledScenario, spec: FleetDeviceSpec, ts: number): boolean {
  if (compiled.backhaulCuts.some((c) => c.site === spec.id && ts >= c.fromTs && (c.toTs === undefined || ts < c.toTs))) return true;
  const island = spec.attributes['island'];
  return typeof island === 'string' && isolatedIslands(DEFAULT_RING_TOPOLOGY, segmentsDownAt(compiled, ts)).includes(island);
}

const at = (t0: number, text: string) => t0 + parseOffset(text)!;

/**
 * Turns the timeline into the models' own fault options. Each district's grid is lost at its first
 * `grid-lost` and back at the first `grid-restored` after it (a second outage in one run is refused).
 */
export function compileScenario(scenario: Scenario, t0: number): CompiledScenario {
  const topology = DEFAULT_RING_TOPOLOGY;
  const known = new Set(topology.segments.map((s) => s.id));
  const gridLost = new Map<string, number>();
  const gridBack = new Map<string, number>();
  const genFails = new Map<string, number>();
  const cuts: SegmentFault[] = [];
  const open = new Map<string, SegmentFault>();
  const boards: Array<SegmentFault & { island: string }> = [];
  const backhaulCuts: Array<{ site: string; fromTs: number; toTs?: number }> = [];
  const steps = scenario.timeline.map((s, i) => ({ s, i, ts: at(t0, s.at) })).sort((a, b) => a.ts - b.ts || a.i - b.i);
  for (const { s, i, ts } of steps) {
    switch (s.action) {
      case 'grid-lost':
        for (const d of s.districts) {
          if (gridLost.has(d)) throw new ScenarioError(`timeline.${i}.districts: ${d} loses the grid twice; one outage per district per run`);
          gridLost.set(d, ts);
        }
        break;
      case 'grid-restored':
        for (const d of s.districts) {
          if (!gridLost.has(d) || gridBack.has(d)) throw new ScenarioError(`timeline.${i}.districts: ${d} is restored without an outage before it`);
          gridBack.set(d, ts);
        }
        break;
      case 'generator-fails':
        genFails.set(s.site, ts);
        break;
      case 'segments-cut':
      case 'segments-restored':
        for (const seg of s.segments) {
          if (!known.has(seg)) throw new ScenarioError(`timeline.${i}.segments: no segment "${seg}" in the Izu ring (${[...known].join(', ')})`);
          if (s.action === 'segments-cut') {
            if (open.has(seg)) throw new ScenarioError(`timeline.${i}.segments: ${seg} is already cut`);
            const fault: SegmentFault = { segment: seg, fromTs: ts };
            open.set(seg, fault);
            cuts.push(fault);
          } else {
            const fault = open.get(seg);
            if (!fault) throw new ScenarioError(`timeline.${i}.segments: ${seg} is restored but was not cut`);
            fault.toTs = ts;
            open.delete(seg);
          }
        }
        break;
      case 'board-fault':
      case 'board-repaired': {
        if (!known.has(s.segment)) throw new ScenarioError(`timeline.${i}.segment: no segment "${s.segment}" in the Izu ring`);
        if (!segmentsAt(topology, s.island).some((x) => x.id === s.segment)) throw new ScenarioError(`timeline.${i}.island: ${s.island} is not an end of ${s.segment}`);
        const current = boards.find((b) => b.segment === s.segment && b.island === s.island && b.toTs === undefined);
        if (s.action === 'board-fault') {
          if (current) throw new ScenarioError(`timeline.${i}: the board of ${s.segment} at ${s.island} is already faulty`);
          boards.push({ segment: s.segment, island: s.island, fromTs: ts, state: 'board' });
        } else {
          if (!current) throw new ScenarioError(`timeline.${i}: the board of ${s.segment} at ${s.island} is repaired but was not faulty`);
          current.toTs = ts;
        }
        break;
      }
      case 'backhaul-cut':
      case 'backhaul-restored':
        for (const site of s.sites) {
          const current = backhaulCuts.find((c) => c.site === site && c.toTs === undefined);
          if (s.action === 'backhaul-cut') {
            if (current) throw new ScenarioError(`timeline.${i}.sites: ${site}'s backhaul is already cut`);
            backhaulCuts.push({ site, fromTs: ts });
          } else {
            if (!current) throw new ScenarioError(`timeline.${i}.sites: ${site}'s backhaul is restored but was not cut`);
            current.toTs = ts;
          }
        }
        break;
    }
  }
  const devices: FleetDeviceSpec[] = scenario.sites.map((site) => {
    const lost = gridLost.get(site.district);
    const back = gridBack.get(site.district);
    const fails = genFails.get(site.id);
    return {
      id: site.id,
      type: 'bs-power',
      attributes: {
        site: site.site, district: site.district, battery: site.battery, targetHours: site.targetHours, generatorTankHours: site.generatorTankHours,
        ...(site.island ? { island: site.island } : {}), ...(site.priority ? { priority: site.priority } : {}),
      },
      ...(site.location ? { location: { lat: site.location[0], lon: site.location[1] } } : {}),
      sampleSec: scenario.sampleSec['bs-power'],
      simulation: {
        battery: site.battery, generator: site.generator, generatorTankHours: site.generatorTankHours,
        ...(site.capacityAh !== undefined ? { capacityAh: site.capacityAh } : {}), ...(site.sohPct !== undefined ? { sohPct: site.sohPct } : {}),
        ...(site.baseLoadA !== undefined ? { baseLoadA: site.baseLoadA } : {}), ...(site.fuelPct !== undefined ? { fuelPct: site.fuelPct } : {}),
        ...(lost !== undefined ? { mainsLostAtTs: lost } : {}), ...(back !== undefined ? { mainsRestoredAtTs: back } : {}),
        ...(fails !== undefined ? { generatorFailsAtTs: fails } : {}),
        ...(site.ambientC !== undefined ? { ambientC: site.ambientC } : {}), ...(site.controllerBiasPct !== undefined ? { controllerBiasPct: site.controllerBiasPct } : {}),
      },
    };
  });
  const islands = scenario.ringIslands ?? topology.islands;
  for (const island of islands) {
    if (!topology.islands.includes(island)) throw new ScenarioError(`ringIslands: no island "${island}" in the Izu ring`);
    const mine = new Set(segmentsAt(topology, island).map((s) => s.id));
    devices.push({
      id: `ring-${island}`,
      type: 'ring-node',
      attributes: { island, gateway: topology.gateways.includes(island) },
      sampleSec: scenario.sampleSec['ring-node'],
      simulation: { island, faults: [...cuts.filter((c) => mine.has(c.segment)), ...boards.filter((b) => b.island === island).map(({ island: _at, ...f }) => f)] },
    });
  }
  return { scenario, runFrom: t0 - (scenario.warmup ? parseOffset(scenario.warmup)! : 0), t0, endTs: at(t0, scenario.duration), devices, faults: [...cuts, ...boards.map(({ island: _at, ...f }) => f)], backhaulCuts };
}
