import { DEFAULT_RING_TOPOLOGY, segmentsAt } from '../ring-topology.js';
import type { FleetDeviceSpec } from '../fleet-spec.js';
import type { SegmentFault } from '../ring-node.js';
import { parseOffset, ScenarioError, type Scenario } from './schema.js';

export interface CompiledScenario {
  scenario: Scenario;
  t0: number;
  endTs: number;
  /** Every device of the run, with the model options the timeline sets (mains loss, generator failure, cuts). */
  devices: FleetDeviceSpec[];
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
      simulation: { island, faults: cuts.filter((c) => mine.has(c.segment)) },
    });
  }
  return { scenario, t0, endTs: at(t0, scenario.duration), devices };
}
