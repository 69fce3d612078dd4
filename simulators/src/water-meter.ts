import type { WaterMeterAlarm, WaterMeterSample } from '@tsunagaru/firmware-contracts';
import type { DmaInletOptions } from './dma-inlet.js';
import { StepClock, type DeviceModel, type ModelBase, type ModelEvent, type ModelStep } from './model.js';
import { Rng, round } from './rng.js';
import { isWeekend, jstHour } from './tokyo-time.js';

export interface WaterMeterOptions {
  /** People in the household. Default 1–4, drawn per meter. */
  residents?: number;
  /** Household use per resident per day, litres. Default 215 (Tokyo's domestic average is ~210–220). */
  litresPerResidentDay?: number;
  /** Register reading at start, litres. Default: drawn between 50,000 and 900,000. */
  initialIndexL?: number;
  /** Default: drawn between 85 and 100. */
  initialBatteryPct?: number;
  /** Years for the battery to run from 100 % to 0 %. Default 12 (typical lithium meter battery). */
  batteryLifeYears?: number;
  /** A constant leak behind the meter (a running toilet is 5–30 L/h), from `fromTs` (default: always). */
  leak?: { lph: number; fromTs?: number };
  /** The household stops using water from this time: for exercising the welfare ("見守り") notice. */
  vacantFromTs?: number;
  /** A burst behind the meter (a split pipe: hundreds of L/h) from `fromTs` until `toTs` (default: never repaired). */
  burst?: { lph: number; fromTs: number; toTs?: number };
  /** Water flows back through the meter at this time (pressure loss upstream): the register goes back `litres` (default 20). */
  backflow?: { atTs: number; litres?: number };
  /** The meter is tampered with (magnet, opened housing) at this time: `tamper` event and alarm from then on. */
  tamperAtTs?: number;
  /** The battery is empty at this time (it drains to 0 % over the 30 days before); from then on the meter is silent. */
  batteryDeadAtTs?: number;
  /** A bath or shower (domain: ≈ 500 L/h for 30 min) from `fromTs`: heavy use that is no burst. */
  bath?: { fromTs: number; lph?: number; minutes?: number };
  /** Q3 (permanent flow) of the meter, L/h; its own burst alarm is above 30 % of it for 30 min. Default 2,500. */
  q3Lph?: number;
  /** This meter is its DMA's inlet (bulk) meter (dma-inlet.ts): its households' water plus the network's losses. */
  inlet?: Omit<DmaInletOptions, 'fleetSeed'>;
}

export type WaterMeterConfig = ModelBase & WaterMeterOptions;

/** Share of a household's daily use per JST hour: morning and evening peaks, almost nothing at night. */
const HOURLY_WEIGHTS = [1.5, 0.6, 0.3, 0.3, 0.4, 1.5, 5.0, 8.0, 7.5, 5.5, 4.5, 4.2, 4.5, 4.0, 3.5, 3.5, 4.0, 5.0, 6.5, 7.5, 7.8, 7.0, 5.0, 3.0];
const WEIGHT_SUM = HOURLY_WEIGHTS.reduce((a, b) => a + b, 0);
/** Weekends and holidays: people sleep in (the morning peak moves to 8–10), more use at midday, ~10 % more in all. */
const WEEKEND_WEIGHTS = [2.0, 1.0, 0.4, 0.3, 0.3, 0.6, 1.8, 4.0, 7.0, 8.0, 6.5, 5.5, 5.5, 4.8, 4.2, 4.0, 4.5, 5.5, 7.0, 7.8, 7.8, 7.0, 5.5, 3.5];
const WEEKEND_SUM = WEEKEND_WEIGHTS.reduce((a, b) => a + b, 0);

/** Expected litres per hour at `hour` (JST) for a household using `dailyLitres`; `weekend` shifts the shape. */
export function householdDemandLph(hour: number, dailyLitres: number, weekend = false): number {
  const h = Math.floor(hour) % 24;
  return weekend ? (1.1 * dailyLitres * (WEEKEND_WEIGHTS[h] ?? 0)) / WEEKEND_SUM : (dailyLitres * (HOURLY_WEIGHTS[h] ?? 0)) / WEIGHT_SUM;
}

/** The meter's own burst alarm (Zenner): flow above 30 % of Q3 for 30 min. */
const BURST_SHARE_OF_Q3 = 0.3;
const BURST_HOLD_MS = 30 * 60_000;
/**
 * Household draws are drawn per 5-minute slot of the clock, from the slot's own seed: what a household
 * uses up to any moment does not depend on how often it is read, so an inlet meter summing its DMA's
 * households (dma-inlet.ts) sees exactly the water their meters count.
 */
const SLOT_MS = 5 * 60_000;

/**
 * The seed of one slot: the meter's seed and the slot number mixed by murmur3's finaliser. (Seeds from
 * FNV over "slot:<n>" made neighbouring slots' first draws correlated: quiet nights came in runs.)
 */
function slotSeed(seed: number, slot: number): number {
  let h = (seed ^ Math.imul(slot | 0, 0x9e3779b1) ^ Math.imul(Math.floor(slot / 2 ** 32), 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HOUR_MS = 3_600_000;
const LOW_BATTERY_PCT = 10;

/**
 * A household smart water meter. Use comes as discrete draws (a tap, a flush, a shower), so quiet night
 * intervals really read zero flow, which is what the leak rule and the welfare notice rely on.
 */
export class WaterMeterModel implements DeviceModel<'water-meter'> {
  readonly type = 'water-meter' as const;
  private readonly rng: Rng;
  private readonly clock: StepClock;
  private readonly dailyLitres: number;
  private readonly drainPctPerMs: number;
  private volumeL: number;
  private batteryPct: number;
  private lastTs: number | undefined;
  /** Leak rule state: start of the current run of zero-flow intervals, and end of the last dry hour. */
  private dryRunStart: number | undefined;
  private lastDryHour: number | undefined;
  private leakAlarm = false;
  private lowBatteryAlarm = false;
  private burstSince: number | undefined;
  private burstAlarm = false;
  private backflowDone = false;
  private tamperAlarm = false;

  constructor(private readonly config: WaterMeterConfig) {
    this.rng = new Rng(config.seed);
    this.clock = new StepClock(config.sampleSec);
    const residents = config.residents ?? this.rng.int(1, 4);
    this.dailyLitres = residents * (config.litresPerResidentDay ?? 215) * this.rng.between(0.8, 1.2);
    this.volumeL = config.initialIndexL ?? this.rng.int(50_000, 900_000);
    this.batteryPct = config.initialBatteryPct ?? this.rng.between(85, 100);
    this.drainPctPerMs = 100 / ((config.batteryLifeYears ?? 12) * 365.25 * 24 * HOUR_MS);
  }

  step(ts: number): ModelStep<'water-meter'> {
    const dt = this.clock.advance(ts);
    const from = this.lastTs ?? ts - dt;
    this.lastTs = ts;
    const events: ModelEvent<'water-meter'>[] = [];

    const c = this.config;
    let litres = this.consumedBetween(from, ts, false);
    let backflow = false;
    if (c.backflow && !this.backflowDone && ts >= c.backflow.atTs) {
      this.backflowDone = backflow = true;
      litres -= c.backflow.litres ?? 20;
      events.push({ type: 'backflow', ts: Math.max(from, c.backflow.atTs), detail: { litres: c.backflow.litres ?? 20 } });
    }
    this.volumeL += litres;
    this.batteryPct = Math.max(0, this.batteryPct - dt * this.drainPctPerMs);
    if (c.batteryDeadAtTs !== undefined) this.batteryPct = Math.min(this.batteryPct, Math.max(0, (c.batteryDeadAtTs - ts) / (30 * 24 * HOUR_MS)) * 10);
    this.updateLeakRule(from, ts, Math.max(0, litres), events);
    this.updateBurst(from, ts, dt > 0 ? litres / (dt / HOUR_MS) : 0, events);
    if (c.tamperAtTs !== undefined && !this.tamperAlarm && ts >= c.tamperAtTs) {
      this.tamperAlarm = true;
      events.push({ type: 'tamper', ts: Math.max(from, c.tamperAtTs), detail: { cause: 'magnetic field' } });
    }
    if (!this.lowBatteryAlarm && this.batteryPct < LOW_BATTERY_PCT) {
      this.lowBatteryAlarm = true;
      events.push({ type: 'low_battery', ts, detail: { batteryPct: round(this.batteryPct) } });
    }

    const flowLph = dt > 0 ? round(litres / (dt / HOUR_MS)) : 0;
    const alarms: WaterMeterAlarm[] = [];
    if (this.leakAlarm) alarms.push('leak');
    if (this.burstAlarm) alarms.push('burst');
    if (backflow) alarms.push('backflow');
    if (this.tamperAlarm) alarms.push('tamper');
    if (this.lowBatteryAlarm) alarms.push('lowBattery');
    const sample: WaterMeterSample = {
      ts,
      // The register only ever counts up, in whole litres, like the meter's own display.
      indexL: Math.floor(this.volumeL),
      flowLph,
      batteryPct: round(this.batteryPct),
      ...(alarms.length > 0 ? { alarms } : {}),
    };
    // A dead battery: the radio is silent from then on.
    const dead = c.batteryDeadAtTs !== undefined && ts >= c.batteryDeadAtTs;
    return { sample, events, ...(dead ? { silent: true } : {}) };
  }

  /**
   * Litres through the meter over (from, to]: household draws, leak, burst, bath, and (with `backflow`)
   * the scripted reverse flow. A pure function of the configuration and the times.
   */
  consumedBetween(from: number, to: number, backflow = true): number {
    const b = this.config.backflow;
    const back = backflow && b && b.atTs > from && b.atTs <= to ? (b.litres ?? 20) : 0;
    return this.householdDraws(from, to) + this.leakLitres(from, to) + this.burstLitres(from, to) + this.bathLitres(from, to) - back;
  }

  private bathLitres(from: number, to: number): number {
    const b = this.config.bath;
    if (!b) return 0;
    const start = Math.max(from, b.fromTs);
    const end = Math.min(to, b.fromTs + (b.minutes ?? 30) * 60_000);
    return end > start ? ((b.lph ?? 500) * (end - start)) / HOUR_MS : 0;
  }

  private burstLitres(from: number, to: number): number {
    const b = this.config.burst;
    if (!b) return 0;
    const start = Math.max(from, b.fromTs);
    const end = Math.min(to, b.toTs ?? to);
    return end > start ? (b.lph * (end - start)) / HOUR_MS : 0;
  }

  private updateBurst(from: number, ts: number, flowLph: number, events: ModelEvent<'water-meter'>[]): void {
    if (flowLph > BURST_SHARE_OF_Q3 * (this.config.q3Lph ?? 2500)) {
      this.burstSince ??= from;
      if (!this.burstAlarm && ts - this.burstSince >= BURST_HOLD_MS) {
        this.burstAlarm = true;
        events.push({ type: 'burst', ts, detail: { flowLph: round(flowLph) } });
      }
    } else {
      this.burstSince = undefined;
      this.burstAlarm = false;
    }
  }

  /** Draws over (from, to]: whole 5-minute slots, and the time share of a slot cut by either end. */
  private householdDraws(from: number, to: number): number {
    let litres = 0;
    for (let slot = Math.floor(from / SLOT_MS); slot * SLOT_MS < to; slot++) {
      const [s, e] = [slot * SLOT_MS, (slot + 1) * SLOT_MS];
      const share = (Math.min(e, to) - Math.max(s, from)) / SLOT_MS;
      if (share > 0) litres += share * this.slotDraws(slot);
    }
    return litres;
  }

  /** Poisson number of draws for the slot's expected volume, each a small, medium or large use. */
  private slotDraws(slot: number): number {
    const from = slot * SLOT_MS;
    if (this.config.vacantFromTs !== undefined && from >= this.config.vacantFromTs) return 0;
    const rng = new Rng(slotSeed(this.config.seed, slot));
    const mid = from + SLOT_MS / 2;
    const expected = householdDemandLph(jstHour(mid), this.dailyLitres, isWeekend(mid)) * (SLOT_MS / HOUR_MS);
    const meanDrawL = 12.45; // mean of the mix below
    let litres = 0;
    for (let n = rng.poisson(expected / meanDrawL); n > 0; n--) {
      const kind = rng.uniform();
      if (kind < 0.7) litres += rng.between(1, 8); // tap, hand wash
      else if (kind < 0.9) litres += rng.between(8, 20); // flush, dishes
      else litres += rng.between(40, 90); // shower, bath, laundry
    }
    return litres;
  }

  private leakLitres(from: number, to: number): number {
    const leak = this.config.leak;
    if (!leak || leak.lph <= 0) return 0;
    const start = Math.max(from, leak.fromTs ?? from);
    return to > start ? (leak.lph * (to - start)) / HOUR_MS : 0;
  }

  /**
   * Kamstrup-style LEAK rule (domain notes): raise when the last 24 h held no continuous hour without
   * flow; clear after one hour with no flow. The meter's start counts as a dry hour, to avoid a false
   * alarm on the first day.
   */
  private updateLeakRule(from: number, ts: number, litres: number, events: ModelEvent<'water-meter'>[]): void {
    this.lastDryHour ??= from;
    if (litres > 0) {
      this.dryRunStart = undefined;
    } else {
      this.dryRunStart ??= from;
      if (ts - this.dryRunStart >= HOUR_MS) this.lastDryHour = ts;
    }
    if (!this.leakAlarm && ts - this.lastDryHour > 24 * HOUR_MS) {
      this.leakAlarm = true;
      events.push({ type: 'leak_detected', ts, detail: { rule: 'no dry hour in 24 h' } });
    } else if (this.leakAlarm && this.lastDryHour === ts) {
      this.leakAlarm = false;
      events.push({ type: 'leak_cleared', ts });
    }
  }
}
