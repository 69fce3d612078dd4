/** Turns a water scenario into devices (households and inlets, with their models' options) and how each is read. */
import { dmaInlet, type NetworkLeak } from '../dma-inlet.js';
import type { FleetDeviceSpecOf } from '../fleet-spec.js';
import { Rng, deriveSeed } from '../rng.js';
import { parseOffset } from '../scenario/schema.js';
import type { WaterScenario } from './schema.js';

export type Reading = 'live' | 'batch';

export interface WaterDevice {
  spec: FleetDeviceSpecOf<'water-meter'>;
  /** `batch`: readings kept and delivered `batchSize` at a time (LoRaWAN). */
  reading: Reading;
  /** Batch meters: readings held back before the first delivery (staggers the meters' deliveries). */
  firstBatch?: number;
}

export interface CompiledWaterScenario {
  scenario: WaterScenario;
  t0: number;
  endTs: number;
  /** Devices keep running until here (late batches delivered). */
  runUntil: number;
  devices: WaterDevice[];
  /** Per DMA: its inlet's network-loss options (the truth of non-revenue water). */
  networks: Record<string, { backgroundLeakLph: number; leaks: NetworkLeak[] }>;
  batchSize: number;
}

const at = (t0: number, text: string) => t0 + parseOffset(text)!;
export const BATCH_SIZE = 15;
const BATCH_STEP_SEC = 1200;

export function compileWaterScenario(s: WaterScenario, seed = 1): CompiledWaterScenario {
  const t0 = Date.parse(s.start);
  const endTs = at(t0, s.duration);
  const devices: WaterDevice[] = [];
  const networks: CompiledWaterScenario['networks'] = {};
  for (const d of s.dmas) {
    const rng = new Rng(deriveSeed(seed, `water-scenario:${d.id}`));
    const households: WaterDevice[] = [];
    for (let n = 1; n <= d.meters; n++) {
      const welfare = d.welfare.find((w) => w.meter === n);
      const bath = d.baths.find((b) => b.meter === n);
      const batch = n > d.meters - d.lateBatchMeters;
      const hourly = !batch && n <= d.hourlyMeters;
      const spec: FleetDeviceSpecOf<'water-meter'> = {
        id: `wm-${d.id}-${String(n).padStart(3, '0')}`,
        type: 'water-meter',
        attributes: { dma: d.id, ...(welfare ? { welfareWatch: true } : {}), ...(batch ? { radio: 'lorawan' } : {}) },
        sampleSec: batch ? BATCH_STEP_SEC : hourly ? 3600 : 900,
        simulation: {
          residents: welfare ? 1 : rng.int(1, 4),
          ...(welfare?.dripLph ? { leak: { lph: welfare.dripLph } } : {}),
          ...(welfare?.vacantAt ? { vacantFromTs: at(t0, welfare.vacantAt) } : {}),
          ...(welfare?.silentAt ? { batteryDeadAtTs: at(t0, welfare.silentAt) } : {}),
          ...(bath ? { bath: { fromTs: at(t0, bath.at), lph: bath.lph, minutes: bath.minutes } } : {}),
        },
      };
      households.push({ spec, reading: batch ? 'batch' : 'live', ...(batch ? { firstBatch: 1 + ((n * 7) % BATCH_SIZE) } : {}) });
    }
    const leaks = d.leaks.map((l): NetworkLeak => ({ fromTs: at(t0, l.at), lph: l.lph, ...(l.repairedAt ? { toTs: at(t0, l.repairedAt) } : {}) }));
    networks[d.id] = { backgroundLeakLph: d.backgroundLeakLph, leaks };
    devices.push(...households, { spec: dmaInlet(d.id, households.map((h) => h.spec), { backgroundLeakLph: d.backgroundLeakLph, leaks }), reading: 'live' });
  }
  return { scenario: s, t0, endTs, runUntil: endTs + parseOffset(s.tail)!, devices, networks, batchSize: BATCH_SIZE };
}
