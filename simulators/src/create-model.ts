import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { BsPowerModel } from './bs-power.js';
import { DmaInletModel } from './dma-inlet.js';
import type { FleetDeviceSpec } from './fleet-spec.js';
import type { DeviceModel } from './model.js';
import { RingNodeModel } from './ring-node.js';
import { deriveSeed } from './rng.js';
import { SmartPoleModel } from './smart-pole.js';
import { WaterMeterModel } from './water-meter.js';

/** The model for a spec; its PRNG seed depends only on the fleet seed and the device id. */
export function createModel(spec: FleetDeviceSpec, fleetSeed: number): DeviceModel<DeviceType> {
  const base = { seed: deriveSeed(fleetSeed, spec.id), sampleSec: spec.sampleSec };
  switch (spec.type) {
    case 'smart-pole':
      return new SmartPoleModel({ ...spec.simulation, ...base });
    case 'water-meter':
      if (spec.simulation?.inlet) return new DmaInletModel({ ...spec.simulation.inlet, ...base, fleetSeed });
      return new WaterMeterModel({ ...spec.simulation, ...base });
    case 'bs-power':
      return new BsPowerModel({ ...spec.simulation, ...base });
    case 'ring-node':
      return new RingNodeModel({ ...spec.simulation, ...base });
  }
}
