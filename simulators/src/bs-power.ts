import type { BsPowerSample } from '@tsunagaru/firmware-contracts';
import { capacityTemperatureFactor, CHEMISTRIES, peukertAh, terminalVolts, type BatteryChemistry, type ChemistryProfile } from './battery.js';
import { StepClock, type DeviceModel, type ModelBase, type ModelEvent, type ModelStep } from './model.js';
import { clamp, Rng, round } from './rng.js';
import { bump, dailyCycle, jstHour } from './tokyo-time.js';

export interface BsPowerOptions {
  /** Default 'vrla'. */
  battery?: BatteryChemistry;
  /** Rated capacity of all strings, Ah at the 10-hour rate. Default 400 (VRLA, 2 × 200 Ah) or 300 (Li-ion). */
  capacityAh?: number;
  /** State of health, % of rated capacity still available. Default: drawn 85–95 (VRLA) or 95–99 (Li-ion). */
  sohPct?: number;
  /** Site load at the quietest hour, A. Default: drawn 28–38; busy hours add up to ~14 A. */
  baseLoadA?: number;
  /** A fixed load, A, as a test bench's dummy load draws; default: the traffic-shaped load above. */
  fixedLoadA?: number;
  /** Default 100. */
  initialSocPct?: number;
  /** Generator fuel tank level. Default: drawn 85–95. */
  fuelPct?: number;
  /** Mains fails at this time (a typhoon): the battery carries the load until the low-voltage disconnect. */
  mainsLostAtTs?: number;
  /** Mains returns at this time (after `mainsLostAtTs`); the battery recharges at its current limit. */
  mainsRestoredAtTs?: number;
  /** The site has a standby generator that starts when mains fails. Default false (reported as 'off'). */
  generator?: boolean;
  /** The generator fails at this time (running: it stops; not yet started: it fails to start). */
  generatorFailsAtTs?: number;
  /** Hours a full tank runs the generator. Default 24. */
  generatorTankHours?: number;
  /** Shelter temperature around the battery, °C. Default 25 (air-conditioned); an unheated island hut in winter is far colder. */
  ambientC?: number;
  /**
   * The controller's own time-left estimate is off by this share (e.g. 25: it says 25 % more than its
   * discharge tables give, as a controller set up with the wrong battery type would). Default 0.
   */
  controllerBiasPct?: number;
}

type GeneratorState = 'off' | 'starting' | 'running' | 'fault';

export type BsPowerConfig = ModelBase & BsPowerOptions;

const FLOAT_V = 53.5;
/** battery_low (the controller's "LVD imminent" alarm) is raised below this SoC and re-armed above the second value. */
const LOW_SOC_PCT = 10;
const LOW_SOC_REARM_PCT = 30;

/** Mobile traffic over a day (JST): a midday plateau and the evening peak around 21:00. */
function trafficShare(hour: number): number {
  return clamp(0.2 + 0.45 * bump(hour, 12.5, 3) + 0.6 * bump(hour, 21, 2.5), 0, 1);
}

/**
 * The DC plant of a base station: rectifiers on mains, a battery string on float, a standby generator.
 * Sign convention: `batteryA` is positive when charging and negative when discharging.
 */
export class BsPowerModel implements DeviceModel<'bs-power'> {
  readonly type = 'bs-power' as const;
  private readonly rng: Rng;
  private readonly clock: StepClock;
  private readonly chem: ChemistryProfile;
  private readonly capacityAh: number;
  private readonly sohPct: number;
  private readonly baseLoadA: number;
  private fuelPct: number;
  private gen: GeneratorState = 'off';
  private socPct: number;
  private mainsOn = true;
  /** When mains last changed: energy flows the new way only from then, not over the whole interval. */
  private mainsChangedTs = Number.NEGATIVE_INFINITY;
  private dark = false;
  /** When the low-voltage disconnect tripped, within the step (the exact crossing of 0 % state of charge). */
  private darkAtTs: number | undefined;
  private lowAlarm = false;
  private batteryTempC: number;
  /** Shelter warming once the air conditioning loses mains, °C above normal. */
  private heatC = 0;

  constructor(private readonly config: BsPowerConfig) {
    this.rng = new Rng(config.seed);
    this.clock = new StepClock(config.sampleSec);
    const battery = config.battery ?? 'vrla';
    this.chem = CHEMISTRIES[battery];
    this.capacityAh = config.capacityAh ?? (battery === 'vrla' ? 400 : 300);
    this.sohPct = config.sohPct ?? (battery === 'vrla' ? this.rng.between(85, 95) : this.rng.between(95, 99));
    this.baseLoadA = config.baseLoadA ?? this.rng.between(28, 38);
    this.fuelPct = config.fuelPct ?? this.rng.between(85, 95);
    this.socPct = config.initialSocPct ?? 100;
    this.batteryTempC = config.ambientC ?? 25;
  }

  /** Ah the battery holds when full, today. */
  private get usableAh(): number {
    return (this.capacityAh * this.sohPct) / 100;
  }

  step(ts: number): ModelStep<'bs-power'> {
    const dtMs = this.clock.advance(ts);
    const events: ModelEvent<'bs-power'>[] = [];
    const hour = jstHour(ts);
    this.updateMains(ts, events);
    this.updateGenerator(ts, dtMs, events);
    const powered = this.mainsOn || this.gen === 'starting' || this.gen === 'running';
    const dtH = Math.min(dtMs, ts - this.mainsChangedTs) / 3_600_000;

    const traffic = clamp(this.baseLoadA + 14 * trafficShare(hour) + this.rng.normal(0, 0.4), 20, 60);
    const demandA = this.config.fixedLoadA ?? traffic;
    // Cold batteries give less (IEEE 485): every Ah delivered costs `factor` Ah of the charge as rated at
    // 25 °C, the state of charge a temperature-compensated controller reports.
    const factor = capacityTemperatureFactor(this.batteryTempC);
    let loadA = demandA;
    let batteryA: number;
    let batteryV: number;
    let rectifierV = 0;
    if (powered) {
      rectifierV = FLOAT_V + this.rng.normal(0, 0.03);
      // Recharge at the current limit until full, then a small float current.
      const chargeA = this.socPct < 100 ? this.chem.chargeCRate * this.capacityAh : this.rng.between(0.2, 0.5);
      this.socPct = Math.min(100, this.socPct + ((chargeA * dtH) / this.usableAh) * 100);
      batteryA = chargeA;
      batteryV = rectifierV - 0.05;
    } else if (this.dark) {
      loadA = 0;
      batteryA = 0;
      batteryV = terminalVolts(this.chem, this.socPct, 0);
    } else {
      const usedAh = peukertAh(this.chem, demandA, dtH, this.capacityAh) * factor;
      const before = this.socPct;
      const after = before - (usedAh / this.usableAh) * 100;
      if (after <= 0) {
        // The low-voltage disconnect trips at the end voltage, 0 % by the rating's definition, at the moment
        // the charge runs out within this step (not at the step's end).
        this.socPct = 0;
        this.darkAtTs = Math.round(ts - dtH * 3_600_000 + (before / (before - after)) * dtH * 3_600_000);
      } else {
        this.socPct = after;
      }
      batteryA = -demandA;
      batteryV = terminalVolts(this.chem, this.socPct, demandA);
    }
    this.updateBatteryAlarms(ts, events);
    if (this.dark) {
      loadA = 0;
      batteryA = 0;
    }

    this.heatC += ((this.mainsOn ? 0 : 8) - this.heatC) * (1 - Math.exp(-dtMs / 3_600_000 / 2));
    this.batteryTempC = (this.config.ambientC ?? 25) + dailyCycle(hour, 15) + this.heatC + (batteryA < 0 ? 0.02 * -batteryA : 0) + this.rng.normal(0, 0.1);
    const runtimeMin = this.dark ? 0 : this.controllerMinutes(Math.max(loadA, 1)) * (1 + (this.config.controllerBiasPct ?? 0) / 100);

    const sample: BsPowerSample = {
      ts,
      mains: this.mainsOn ? 'on' : 'off',
      rectifierV: round(rectifierV, 2),
      loadA: round(loadA),
      batterySocPct: round(this.socPct),
      batteryV: round(clamp(batteryV, 0, 75), 2),
      batteryA: round(batteryA),
      batteryTempC: round(this.batteryTempC),
      batterySohPct: round(this.sohPct),
      batteryCapacityAh: this.capacityAh,
      generator: this.gen,
      fuelPct: round(this.fuelPct),
      backhaul: this.dark ? 'down' : 'fiber',
      runtimeMin: Math.round(runtimeMin),
    };
    return { sample, events };
  }

  /**
   * The controller's "battery time left" (Eltek Smartpack, Vertiv NetSure): from its discharge tables down
   * to the end voltage at the present load and battery temperature. Battery only: a generator is extra.
   */
  private controllerMinutes(loadA: number): number {
    const factor = capacityTemperatureFactor(this.batteryTempC);
    const ahPerHour = peukertAh(this.chem, loadA, 1, this.capacityAh) * factor;
    return ((this.socPct / 100) * this.usableAh / ahPerHour) * 60;
  }

  private updateMains(ts: number, events: ModelEvent<'bs-power'>[]): void {
    const { mainsLostAtTs: lost, mainsRestoredAtTs: restored } = this.config;
    const on = lost === undefined || ts < lost || (restored !== undefined && restored > lost && ts >= restored);
    if (on === this.mainsOn) return;
    this.mainsOn = on;
    const at = Math.min(on ? (restored ?? ts) : (lost ?? ts), ts);
    this.mainsChangedTs = at;
    events.push({ type: on ? 'mains_restored' : 'mains_lost', ts: at, detail: { batterySocPct: round(this.socPct) } });
    if (on && this.dark) {
      this.dark = false;
      this.darkAtTs = undefined;
      events.push({ type: 'backhaul_fiber', ts });
    }
  }

  /** Standby generator: starts on mains loss, burns fuel while running, stops on mains return or empty tank. */
  private updateGenerator(ts: number, dtMs: number, events: ModelEvent<'bs-power'>[]): void {
    if (!this.config.generator || this.gen === 'fault') return;
    const failsAt = this.config.generatorFailsAtTs;
    if (this.gen === 'running') this.fuelPct = Math.max(0, this.fuelPct - (dtMs / 3_600_000 / (this.config.generatorTankHours ?? 24)) * 100);
    if (this.gen === 'starting') this.gen = 'running';
    if (this.mainsOn) {
      if (this.gen !== 'off') {
        this.gen = 'off';
        events.push({ type: 'generator_stop', ts, detail: { reason: 'mains restored', fuelPct: round(this.fuelPct) } });
      }
      return;
    }
    if (this.gen === 'off' && this.fuelPct > 0 && !this.dark) {
      this.gen = 'starting';
      events.push({ type: 'generator_start', ts: Math.max(this.mainsChangedTs, ts - dtMs), detail: { fuelPct: round(this.fuelPct) } });
    }
    if (failsAt !== undefined && ts >= failsAt) {
      const at = Math.max(failsAt, this.mainsChangedTs);
      const ranBefore = this.gen === 'running';
      this.gen = 'fault';
      // From the failure on the battery carries the load.
      this.mainsChangedTs = at;
      events.push({ type: 'generator_fault', ts: at, detail: { reason: ranBefore ? 'stopped while running' : 'failed to start', fuelPct: round(this.fuelPct) } });
    } else if (this.gen === 'running' && this.fuelPct <= 0) {
      this.gen = 'off';
      this.mainsChangedTs = ts;
      events.push({ type: 'generator_stop', ts, detail: { reason: 'out of fuel', fuelPct: 0 } });
    }
  }

  private updateBatteryAlarms(ts: number, events: ModelEvent<'bs-power'>[]): void {
    if (!this.lowAlarm && this.socPct < LOW_SOC_PCT) {
      this.lowAlarm = true;
      events.push({ type: 'battery_low', ts, detail: { batterySocPct: round(this.socPct) } });
    } else if (this.lowAlarm && this.socPct > LOW_SOC_REARM_PCT) {
      this.lowAlarm = false;
    }
    if (!this.mainsOn && !this.dark && this.darkAtTs !== undefined) {
      // Low-voltage disconnect: the load is shed to save the battery, the site and its backhaul go dark.
      this.dark = true;
      events.push({ type: 'backhaul_down', ts: this.darkAtTs, detail: { reason: 'low-voltage disconnect', batterySocPct: 0 } });
    }
  }
}
