import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { BsPowerOptions } from './bs-power.js';
import type { RingNodeOptions } from './ring-node.js';
import type { SmartPoleOptions } from './smart-pole.js';
import type { WaterMeterOptions } from './water-meter.js';
import { dmaInlet } from './dma-inlet.js';

/** Attribute values as the device registry stores them (set at provisioning, e.g. `dma`, `site`). */
export type AttributeValue = string | number | boolean | null;

export interface GeoLocation {
  lat: number;
  lon: number;
}

interface DeviceSpecBase {
  id: string;
  /** Provisioning attributes; the simulator does not send them, the registry holds them. */
  attributes: Record<string, AttributeValue>;
  location?: GeoLocation;
  /** Seconds between telemetry messages, simulated time. */
  sampleSec: number;
  /** Firmware version in the birth. Default "sim-1.0.0". */
  fw?: string;
  /** Hardware model in the birth. Default per type, e.g. "sim-smart-pole". */
  model?: string;
}

/**
 * One simulated device. Deliberately without a secret: secrets come from whoever provisioned the devices
 * (a map id → secret passed to startFleet), so a spec can be committed, printed and shared.
 */
export type FleetDeviceSpec =
  | (DeviceSpecBase & { type: 'smart-pole'; simulation?: SmartPoleOptions })
  | (DeviceSpecBase & { type: 'water-meter'; simulation?: WaterMeterOptions })
  | (DeviceSpecBase & { type: 'bs-power'; simulation?: BsPowerOptions })
  | (DeviceSpecBase & { type: 'ring-node'; simulation: RingNodeOptions });

export type FleetSpec = FleetDeviceSpec[];

/** Spec type narrowed to one device type. */
export type FleetDeviceSpecOf<T extends DeviceType> = Extract<FleetDeviceSpec, { type: T }>;

const pole = (n: number, lat: number, lon: number, signage: boolean): FleetDeviceSpec => ({
  id: `pole-nishishinjuku-${String(n).padStart(2, '0')}`,
  type: 'smart-pole',
  attributes: { site: 'nishi-shinjuku', poleType: signage ? 'signage' : 'pole', fiscalYear: n <= 1 ? 2020 : 2021 },
  location: { lat, lon },
  sampleSec: 60,
});

const meter = (dma: string, n: number, lat: number, lon: number, extra: Record<string, AttributeValue> = {}): FleetDeviceSpec => ({
  id: `wm-${dma}-${String(n).padStart(3, '0')}`,
  type: 'water-meter',
  attributes: { dma, ...extra },
  location: { lat, lon },
  // wM-Bus/OMS meters report every 15 minutes (domain notes).
  sampleSec: 900,
});

/**
 * The first simulated fleet: 3 Nishi-Shinjuku smart poles, 6 water meters in 2 DMAs (one watched over for
 * a resident living alone), 2 base-station power plants (VRLA in the city, Li-ion on an island) and the
 * 2 gateway nodes of the Izu ring.
 */
export function defaultFleet(): FleetSpec {
  return [
    pole(1, 35.6903, 139.6922, false),
    pole(2, 35.6912, 139.6937, true),
    pole(3, 35.6894, 139.6909, true),
    meter('shinjuku-n1', 1, 35.6935, 139.6951),
    meter('shinjuku-n1', 2, 35.6938, 139.6958, { welfareWatch: true }),
    meter('shinjuku-n1', 3, 35.6931, 139.6962),
    meter('shinjuku-n2', 1, 35.6968, 139.6904),
    meter('shinjuku-n2', 2, 35.6972, 139.6911),
    meter('shinjuku-n2', 3, 35.6963, 139.6917),
    // Every DMA has its inlet (bulk) meter: non-revenue water and night flow are measured there.
    dmaInlet('shinjuku-n1', [1, 2, 3].map((n) => ({ id: `wm-shinjuku-n1-00${n}` })), { lat: 35.6934, lon: 139.6955, backgroundLeakLph: 1.5 }),
    dmaInlet('shinjuku-n2', [1, 2, 3].map((n) => ({ id: `wm-shinjuku-n2-00${n}` })), { lat: 35.6967, lon: 139.691, backgroundLeakLph: 1.5 }),
    {
      id: 'bsp-shinjuku-tocho',
      type: 'bs-power',
      // Covers the Metropolitan Government building: a 24 h backup priority site.
      attributes: { site: 'tokyo-metropolitan-government', priority: 'municipal-office', targetHours: 24, battery: 'vrla' },
      location: { lat: 35.6896, lon: 139.6917 },
      sampleSec: 60,
      simulation: { battery: 'vrla', capacityAh: 400 },
    },
    {
      id: 'bsp-oshima-motomachi',
      type: 'bs-power',
      // Remote island: 72 h effort target, Li-ion for the longer usable depth of discharge.
      attributes: { site: 'oshima-motomachi', island: 'oshima', priority: 'remote-island', targetHours: 72, battery: 'li-ion' },
      location: { lat: 34.7503, lon: 139.3553 },
      sampleSec: 60,
      simulation: { battery: 'li-ion', capacityAh: 300 },
    },
    {
      id: 'ring-oshima',
      type: 'ring-node',
      attributes: { island: 'oshima', gateway: true },
      location: { lat: 34.7508, lon: 139.3556 },
      sampleSec: 30,
      simulation: { island: 'oshima' },
    },
    {
      id: 'ring-miyakejima',
      type: 'ring-node',
      attributes: { island: 'miyakejima', gateway: true },
      location: { lat: 34.0863, lon: 139.4935 },
      sampleSec: 30,
      simulation: { island: 'miyakejima' },
    },
  ];
}
