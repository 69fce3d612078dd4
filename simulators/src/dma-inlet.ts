import type { WaterMeterSample } from '@tsunagaru/firmware-contracts';
import type { FleetDeviceSpecOf } from './fleet-spec.js';
import { StepClock, type DeviceModel, type ModelBase, type ModelStep } from './model.js';
import { deriveSeed } from './rng.js';
import { WaterMeterModel, type WaterMeterOptions } from './water-meter.js';

const HOUR_MS = 3_600_000;

/** A leak in the DMA's own pipes (a burst main, a leaking joint): water the inlet counts and no customer does. */
export interface NetworkLeak {
  fromTs: number;
  lph: number;
  /** Repaired at; default never. */
  toTs?: number;
}

export interface DmaInletOptions {
  /** The DMA's customer meters as the fleet simulates them (same ids and options): the inlet sees the water they count. */
  households: ReadonlyArray<{ id: string; simulation?: WaterMeterOptions }>;
  /** The fleet seed the households' models are seeded from. */
  fleetSeed: number;
  /** Background leakage of the network (many small leaks), L/h. */
  backgroundLeakLph: number;
  leaks?: readonly NetworkLeak[];
  /** Register at start, litres. Default 10,000,000. */
  initialIndexL?: number;
}

/** Water lost in the network over (from, to]: background leakage plus the leaks then running (the truth of non-revenue water). */
export function networkLossLitres(o: Pick<DmaInletOptions, 'backgroundLeakLph' | 'leaks'>, from: number, to: number): number {
  let litres = (o.backgroundLeakLph * (to - from)) / HOUR_MS;
  for (const l of o.leaks ?? []) {
    const overlap = Math.min(to, l.toTs ?? to) - Math.max(from, l.fromTs);
    if (overlap > 0) litres += (l.lph * overlap) / HOUR_MS;
  }
  return litres;
}

/**
 * A DMA's inlet (bulk) meter: everything its households draw (their own models, seeded as the fleet seeds
 * them) plus what the network loses on the way. So inlet − Σ customers is exactly the simulated loss.
 */
export class DmaInletModel implements DeviceModel<'water-meter'> {
  readonly type = 'water-meter' as const;
  private readonly clock: StepClock;
  private readonly households: WaterMeterModel[];
  private volumeL: number;
  private lastTs: number | undefined;

  constructor(private readonly config: ModelBase & DmaInletOptions) {
    this.clock = new StepClock(config.sampleSec);
    this.households = config.households.map((h) => new WaterMeterModel({ ...h.simulation, seed: deriveSeed(config.fleetSeed, h.id), sampleSec: config.sampleSec }));
    this.volumeL = config.initialIndexL ?? 10_000_000;
  }

  step(ts: number): ModelStep<'water-meter'> {
    const dt = this.clock.advance(ts);
    const from = this.lastTs ?? ts - dt;
    this.lastTs = ts;
    const litres = this.households.reduce((sum, h) => sum + h.consumedBetween(from, ts), 0) + networkLossLitres(this.config, from, ts);
    this.volumeL += litres;
    const sample: WaterMeterSample = { ts, indexL: Math.floor(this.volumeL), flowLph: dt > 0 ? Math.round((litres / (dt / HOUR_MS)) * 10) / 10 : 0 };
    return { sample, events: [] };
  }
}

/** A DMA's inlet meter: `wm-<dma>-inlet`, site dma-inlet, every 15 min, over the given households. */
export function dmaInlet(
  dma: string,
  households: ReadonlyArray<Pick<FleetDeviceSpecOf<'water-meter'>, 'id' | 'simulation'>>,
  o: { lat?: number; lon?: number; backgroundLeakLph: number; leaks?: NetworkLeak[]; sampleSec?: number },
): FleetDeviceSpecOf<'water-meter'> {
  return {
    id: `wm-${dma}-inlet`,
    type: 'water-meter',
    attributes: { dma, site: 'dma-inlet' },
    ...(o.lat !== undefined && o.lon !== undefined ? { location: { lat: o.lat, lon: o.lon } } : {}),
    sampleSec: o.sampleSec ?? 900,
    simulation: { inlet: { households: households.map((h) => ({ id: h.id, ...(h.simulation ? { simulation: h.simulation } : {}) })), backgroundLeakLph: o.backgroundLeakLph, ...(o.leaks ? { leaks: o.leaks } : {}) } },
  };
}
