/**
 * A Sparkplug B edge-node fleet: pump stations (station outflow totalizer and flow, UPS battery, two pumps
 * as Sparkplug devices) and base-station DC plants (mains, rectifier, load as node metrics; the battery
 * string and the standby generator as Sparkplug devices), driven by the same physical models as the
 * contract fleet (WaterMeterModel for a district's draw, BsPowerModel for a DC plant).
 */
import type { BsPowerSample, WaterMeterSample } from '@tsunagaru/firmware-contracts';
import { BsPowerModel, type BsPowerOptions } from '../bs-power.js';
import { deriveSeed } from '../rng.js';
import { WaterMeterModel } from '../water-meter.js';
import { SparkplugEdgeNode, type EdgeNodeOptions, type MetricDef } from './edge-node.js';

export const PUMP_STATION_METRICS: readonly MetricDef[] = [
  { device: '', name: 'Outlet/Totalizer', type: 'UInt64' },
  { device: '', name: 'Outlet/Flow', type: 'Double' },
  { device: '', name: 'UPS/Battery', type: 'Double' },
  { device: 'Pump1', name: 'Running', type: 'Boolean' },
  { device: 'Pump1', name: 'Speed', type: 'Double' },
  { device: 'Pump2', name: 'Running', type: 'Boolean' },
  { device: 'Pump2', name: 'Speed', type: 'Double' },
];

export const DC_PLANT_METRICS: readonly MetricDef[] = [
  { device: '', name: 'Mains/Present', type: 'Boolean' },
  { device: '', name: 'Rectifier/Voltage', type: 'Double' },
  { device: '', name: 'Load/Current', type: 'Double' },
  { device: 'Battery', name: 'SOC', type: 'Double' },
  { device: 'Battery', name: 'Voltage', type: 'Double' },
  { device: 'Battery', name: 'Current', type: 'Double' },
  { device: 'Battery', name: 'Temperature', type: 'Double' },
  { device: 'Generator', name: 'State', type: 'Int32' },
  { device: 'Generator', name: 'Fuel', type: 'Double' },
  // Written by the host (DCMD, contract command generator_test); the generator's controller runs the test.
  { device: 'Generator', name: 'Test/Start', type: 'Boolean' },
  // Written by the host (NCMD, contract command set_sample_interval).
  { device: '', name: 'Properties/Sample Interval', type: 'UInt32' },
];

const GENERATOR_STATES = ['off', 'starting', 'running', 'fault'] as const;

export interface SimulatedSite {
  node: SparkplugEdgeNode;
  /** Takes the site's first reading at `ts`, connects and publishes its births. */
  start(ts: number): Promise<void>;
  /** Advances the site's physics to `ts` and publishes what changed. */
  step(ts: number): Promise<void>;
}

type NodeConnection = Omit<EdgeNodeOptions, 'metrics'>;

/** An edge node whose metrics `measure(ts)` sets from its physical model before each birth or data round. */
function site(node: SparkplugEdgeNode, measure: (ts: number) => void): SimulatedSite {
  return {
    node,
    async start(ts) {
      measure(ts);
      await node.connect(ts);
    },
    async step(ts) {
      measure(ts);
      await node.publishChanges(ts);
    },
  };
}

/** A pump station feeding a district of `residents` people. */
export function pumpStation(o: NodeConnection & { seed: number; sampleSec: number; residents?: number }): SimulatedSite {
  const node = new SparkplugEdgeNode({ ...o, metrics: PUMP_STATION_METRICS });
  const model = new WaterMeterModel({ seed: deriveSeed(o.seed, o.edgeNodeId), sampleSec: o.sampleSec, residents: o.residents ?? 3000, initialIndexL: 40_000_000 });
  const apply = (s: WaterMeterSample) => {
    const flow = s.flowLph ?? 0;
    node.set('', 'Outlet/Totalizer', s.indexL);
    node.set('', 'Outlet/Flow', flow);
    node.set('', 'UPS/Battery', s.batteryPct ?? 100);
    // Duty pump runs above 1 m³/h, the second one joins above 30 m³/h.
    node.set('Pump1', 'Running', flow > 1000);
    node.set('Pump1', 'Speed', Math.round(Math.min(100, flow / 300) * 10) / 10);
    node.set('Pump2', 'Running', flow > 30_000);
    node.set('Pump2', 'Speed', flow > 30_000 ? Math.round(Math.min(100, (flow - 30_000) / 300) * 10) / 10 : 0);
  };
  return site(node, (ts) => apply(model.step(ts).sample));
}

/** A base station's DC plant (rectifiers, battery string, standby generator). */
export function dcPlant(o: NodeConnection & { seed: number; sampleSec: number; power?: BsPowerOptions }): SimulatedSite {
  const node = new SparkplugEdgeNode({ ...o, metrics: DC_PLANT_METRICS });
  node.set('', 'Properties/Sample Interval', o.sampleSec);
  const model = new BsPowerModel({ seed: deriveSeed(o.seed, o.edgeNodeId), sampleSec: o.sampleSec, generator: true, ...(o.power ?? {}) });
  const apply = (s: BsPowerSample) => {
    node.set('', 'Mains/Present', s.mains === 'on');
    if (s.rectifierV !== undefined) node.set('', 'Rectifier/Voltage', s.rectifierV);
    if (s.loadA !== undefined) node.set('', 'Load/Current', s.loadA);
    if (s.batterySocPct !== undefined) node.set('Battery', 'SOC', s.batterySocPct);
    if (s.batteryV !== undefined) node.set('Battery', 'Voltage', s.batteryV);
    if (s.batteryA !== undefined) node.set('Battery', 'Current', s.batteryA);
    if (s.batteryTempC !== undefined) node.set('Battery', 'Temperature', s.batteryTempC);
    node.set('Generator', 'State', GENERATOR_STATES.indexOf(s.generator ?? 'off'));
    if (s.fuelPct !== undefined) node.set('Generator', 'Fuel', s.fuelPct);
  };
  return site(node, (ts) => apply(model.step(ts).sample));
}
