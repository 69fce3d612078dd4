import { DEFAULT_RING_TOPOLOGY } from './ring-topology.js';
import { dmaInlet } from './dma-inlet.js';
import type { FleetDeviceSpec, FleetDeviceSpecOf, FleetSpec } from './fleet-spec.js';
import { Rng, deriveSeed } from './rng.js';

/** Island node locations (approximate, at each island's main port). */
const ISLAND_LOCATION: Record<string, [number, number]> = {
  oshima: [34.7508, 139.3556], toshima: [34.5253, 139.2781], niijima: [34.3726, 139.2568], shikinejima: [34.3253, 139.2163],
  kozushima: [34.2050, 139.1342], mikurajima: [33.8972, 139.6017], miyakejima: [34.0863, 139.4935],
};

/**
 * The 29 Nishi-Shinjuku smart poles: 9 from the first trial (FY2020), 10 digital-signage poles and 10
 * pole-type ones (FY2021), along the streets west of Shinjuku station around 35.690, 139.692.
 */
export function nishiShinjukuPoles(seed = 1): FleetSpec {
  const rng = new Rng(deriveSeed(seed, 'nishi-shinjuku-poles'));
  const groups: Array<{ n: number; kind: 'trial' | 'signage' | 'pole'; fy: number }> = [{ n: 9, kind: 'trial', fy: 2020 }, { n: 10, kind: 'signage', fy: 2021 }, { n: 10, kind: 'pole', fy: 2021 }];
  const out: FleetSpec = [];
  let i = 0;
  for (const g of groups) {
    for (let k = 0; k < g.n; k++, i++) {
      // A grid of streets ~700 m × 600 m between the station's west exit and Shinjuku Central Park.
      const lat = 35.6875 + (Math.floor(i / 6) * 0.0013) + rng.between(-0.0002, 0.0002);
      const lon = 139.6895 + ((i % 6) * 0.0011) + rng.between(-0.0002, 0.0002);
      out.push({
        id: `pole-nishishinjuku-${String(i + 1).padStart(2, '0')}`,
        type: 'smart-pole',
        attributes: { site: 'nishi-shinjuku', poleType: g.kind === 'signage' ? 'signage' : 'pole', trial: g.kind === 'trial', fiscalYear: g.fy },
        location: { lat: Math.round(lat * 1e5) / 1e5, lon: Math.round(lon * 1e5) / 1e5 },
        sampleSec: 60,
      });
    }
  }
  return out;
}

/** One ring node per island of the Izu ring (gateways: Oshima and Miyakejima). */
export function izuRingNodes(): FleetSpec {
  return DEFAULT_RING_TOPOLOGY.islands.map((island) => ({
    id: `ring-${island}`,
    type: 'ring-node',
    attributes: { island, gateway: DEFAULT_RING_TOPOLOGY.gateways.includes(island) },
    ...(ISLAND_LOCATION[island] ? { location: { lat: ISLAND_LOCATION[island][0], lon: ISLAND_LOCATION[island][1] } } : {}),
    sampleSec: 30,
    simulation: { island },
  }));
}

/** Base-station plants: city sites on VRLA with generators at priority sites, island sites on Li-ion. */
export function basePowerPlants(): FleetSpec {
  const city = (id: string, site: string, lat: number, lon: number, generator: boolean, priority?: string): FleetDeviceSpec => ({
    id, type: 'bs-power', attributes: { site, battery: 'vrla', targetHours: 24, ...(priority ? { priority } : {}) }, location: { lat, lon }, sampleSec: 60,
    simulation: { battery: 'vrla', capacityAh: 400, generator },
  });
  const island = (name: string): FleetDeviceSpec => ({
    id: `bsp-${name}`, type: 'bs-power', attributes: { site: name, island: name, battery: 'li-ion', targetHours: 72, priority: 'remote-island' },
    ...(ISLAND_LOCATION[name] ? { location: { lat: ISLAND_LOCATION[name][0], lon: ISLAND_LOCATION[name][1] } } : {}), sampleSec: 60,
    simulation: { battery: 'li-ion', capacityAh: 300, generator: true },
  });
  return [
    city('bsp-shinjuku-tocho', 'tokyo-metropolitan-government', 35.6896, 139.6917, true, 'municipal-office'),
    city('bsp-shinjuku-nishiguchi', 'shinjuku-station-west', 35.6909, 139.6982, false),
    city('bsp-nakano-sakaue', 'nakano-sakaue', 35.697, 139.6826, true),
    city('bsp-minato-shiba', 'minato-shiba', 35.6528, 139.7505, false),
    ...DEFAULT_RING_TOPOLOGY.islands.map(island),
  ];
}

export interface DistrictOptions {
  dma: string;
  meters: number;
  /** Centre of the district. */
  lat: number;
  lon: number;
  seed?: number;
  /** Simulated start: faults are placed within the first days after it. */
  startTs: number;
}

/**
 * Water meters of one DMA with the mix a utility sees: ~30 % residents living alone (a few enrolled in
 * the welfare watch, one of whom stops using water on day 2), ~8 % vacant homes, ~3 % background leaks,
 * one burst, one backflow, one tampered meter and one dead battery; and the DMA's inlet (bulk) meter
 * (`site: dma-inlet`), which counts what the households draw plus the network's background leakage.
 */
export function waterDistrict(o: DistrictOptions): FleetSpec {
  const rng = new Rng(deriveSeed(o.seed ?? 1, `dma:${o.dma}`));
  const day = 86_400_000;
  const pick = () => rng.int(0, o.meters - 1);
  const [burst, backflow, tamper, dead, welfareVacant] = [pick(), pick(), pick(), pick(), pick()];
  const households = Array.from({ length: o.meters }, (_, i): FleetDeviceSpecOf<'water-meter'> => {
    const alone = i === welfareVacant || rng.uniform() < 0.3;
    const welfareWatch = alone && (i === welfareVacant || rng.uniform() < 0.2);
    const vacant = !alone && rng.uniform() < 0.08;
    const leak = rng.uniform() < 0.03;
    return {
      id: `wm-${o.dma}-${String(i + 1).padStart(4, '0')}`,
      type: 'water-meter',
      attributes: { dma: o.dma, ...(welfareWatch ? { welfareWatch: true } : {}), ...(vacant ? { occupancy: 'vacant' } : {}) },
      location: { lat: Math.round((o.lat + rng.between(-0.004, 0.004)) * 1e5) / 1e5, lon: Math.round((o.lon + rng.between(-0.005, 0.005)) * 1e5) / 1e5 },
      sampleSec: 900,
      simulation: {
        residents: alone ? 1 : rng.int(2, 4),
        ...(vacant ? { vacantFromTs: o.startTs - 30 * day } : {}),
        ...(i === welfareVacant ? { vacantFromTs: o.startTs + day + rng.int(0, 12) * 3_600_000 } : {}),
        ...(leak ? { leak: { lph: rng.between(3, 30) } } : {}),
        // Above 30 % of the meter's 2.5 m³/h Q3 (a bath at 500 L/h is no burst).
        ...(i === burst ? { burst: { lph: rng.between(800, 1500), fromTs: o.startTs + rng.int(6, 48) * 3_600_000 } } : {}),
        ...(i === backflow ? { backflow: { atTs: o.startTs + rng.int(6, 48) * 3_600_000 } } : {}),
        ...(i === tamper ? { tamperAtTs: o.startTs + rng.int(6, 48) * 3_600_000 } : {}),
        ...(i === dead ? { batteryDeadAtTs: o.startTs + rng.int(12, 72) * 3_600_000 } : {}),
      },
    };
  });
  return [...households, dmaInlet(o.dma, households, { lat: o.lat, lon: o.lon, backgroundLeakLph: Math.round(o.meters * rng.between(0.6, 1.4) * 10) / 10 })];
}

/** The city fleet: 29 poles, two Shinjuku DMAs of `metersPerDma` meters, the base-station plants and the ring. */
export function cityFleet(options: { startTs: number; metersPerDma?: number; seed?: number }): FleetSpec {
  const seed = options.seed ?? 1;
  const per = options.metersPerDma ?? 50;
  return [
    ...nishiShinjukuPoles(seed),
    ...waterDistrict({ dma: 'shinjuku-n1', meters: per, lat: 35.6935, lon: 139.6955, seed, startTs: options.startTs }),
    ...waterDistrict({ dma: 'shinjuku-n2', meters: per, lat: 35.6968, lon: 139.691, seed, startTs: options.startTs }),
    ...basePowerPlants(),
    ...izuRingNodes(),
  ];
}
