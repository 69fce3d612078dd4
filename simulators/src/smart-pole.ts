import type { SmartPoleSample } from '@tsunagaru/firmware-contracts';
import { StepClock, type DeviceModel, type ModelBase, type ModelEvent, type ModelStep } from './model.js';
import { clamp, Drift, Rng, round } from './rng.js';
import { bump, dailyCycle, isWeekend, jstHour, monthlyHumidityPct, monthlyMeanTempC } from './tokyo-time.js';

export interface SmartPoleOptions {
  /** People in the camera's zone at the busiest moment of a weekday. Default: 250–450, drawn per pole. */
  peakPeople?: number;
  /** Maintenance visits that open the cabinet door, per day. Default 0.05. */
  doorOpensPerDay?: number;
  /** 5G radio outages per day. Default 0.02 (rare). */
  fiveGOutagesPerDay?: number;
}

export type SmartPoleConfig = ModelBase & SmartPoleOptions;

/** Cabinet temperature alarm with hysteresis, so a reading hovering at the limit does not chatter. */
const CABINET_OVERTEMP_C = 55;
const CABINET_NORMAL_C = 50;

/**
 * Share of the weekday peak footfall at `hour` (JST) around a Nishi-Shinjuku office street: morning and
 * evening commuter peaks, a lunch bump, near-empty nights. Weekends have one broad afternoon hump.
 */
export function footfallShare(hour: number, weekend: boolean): number {
  if (weekend) return clamp(0.04 + 0.5 * bump(hour, 14, 3.2) + 0.2 * bump(hour, 19, 1.5), 0, 1);
  return clamp(0.04 + 0.95 * bump(hour, 8.4, 0.8) + 0.5 * bump(hour, 12.4, 0.7) + 0.8 * bump(hour, 18.4, 1.1) + 0.25 * bump(hour, 15, 3), 0, 1);
}

interface Outage {
  since: number;
  until: number;
}

/** A Nishi-Shinjuku smart pole: weather sensors, people counter, 5G/Wi-Fi, and its equipment cabinet. */
export class SmartPoleModel implements DeviceModel<'smart-pole'> {
  readonly type = 'smart-pole' as const;
  private readonly rng: Rng;
  private readonly clock: StepClock;
  private readonly peakPeople: number;
  private readonly doorOpensPerDay: number;
  private readonly fiveGOutagesPerDay: number;
  private readonly weather: Drift;
  private readonly humidity: Drift;
  private readonly haze: Drift;
  private door: Outage | undefined;
  private fiveGDown: Outage | undefined;
  private cabinetHot = false;

  constructor(config: SmartPoleConfig) {
    this.rng = new Rng(config.seed);
    this.clock = new StepClock(config.sampleSec);
    this.peakPeople = config.peakPeople ?? this.rng.int(250, 450);
    this.doorOpensPerDay = config.doorOpensPerDay ?? 0.05;
    this.fiveGOutagesPerDay = config.fiveGOutagesPerDay ?? 0.02;
    // Weather fronts move the temperature by a degree or two for half a day at a time.
    this.weather = new Drift(this.rng, 1.5, 12);
    this.humidity = new Drift(this.rng, 6, 10);
    this.haze = new Drift(this.rng, 4, 8);
  }

  step(ts: number): ModelStep<'smart-pole'> {
    const dt = this.clock.advance(ts);
    const events: ModelEvent<'smart-pole'>[] = [];
    const hour = jstHour(ts);
    const foot = footfallShare(hour, isWeekend(ts));

    // Tokyo daily cycle: coolest before dawn, warmest mid-afternoon; humidity moves the opposite way.
    const diurnal = 3.8 * dailyCycle(hour, 14.5);
    const airTempC = monthlyMeanTempC(ts) + diurnal + this.weather.step(dt) + this.rng.normal(0, 0.15);
    const humidityPct = clamp(monthlyHumidityPct(ts) - 2.8 * diurnal + this.humidity.step(dt) + this.rng.normal(0, 1), 15, 99);

    const peopleCount = Math.max(0, Math.round(this.peakPeople * foot * Math.exp(this.rng.normal(0, 0.12)) + this.rng.normal(0, 1.5)));
    // About one passer-by in twelve is on the free Wi-Fi.
    const wifiClients = Math.max(0, Math.round(peopleCount * 0.08 + this.rng.normal(0, 1.5)));

    this.updateFiveG(ts, dt, events);
    this.updateDoor(ts, dt, events);
    const fiveGUp = this.fiveGDown === undefined;

    // Controller and sensors, the 5G radio (idle + traffic), the Wi-Fi AP, and lighting after dark.
    const lighting = hour >= 17.5 || hour < 6 ? 55 : 0;
    const powerW = Math.max(0, 85 + (fiveGUp ? 120 + 80 * foot : 0) + 10 + 0.4 * wifiClients + lighting + this.rng.normal(0, 3));
    const sun = 4 * Math.max(0, Math.sin((Math.PI * (hour - 8)) / 10));
    const cabinetTempC = airTempC + (this.door ? 1 : 5 + powerW / 70 + sun) + this.rng.normal(0, 0.2);
    this.updateCabinetAlarm(ts, cabinetTempC, events);

    const sample: SmartPoleSample = {
      ts,
      airTempC: round(airTempC),
      humidityPct: round(humidityPct),
      noiseDb: round(clamp(47 + 21 * Math.sqrt(foot) + this.rng.normal(0, 1.2), 30, 100)),
      pm25: round(clamp(9 + 8 * foot + this.haze.step(dt) + this.rng.normal(0, 1), 1, 300)),
      peopleCount,
      wifiClients,
      fiveG: fiveGUp ? 'up' : 'down',
      powerW: Math.round(powerW),
      cabinetTempC: round(cabinetTempC),
      doorOpen: this.door !== undefined,
    };
    return { sample, events };
  }

  private updateFiveG(ts: number, dt: number, events: ModelEvent<'smart-pole'>[]): void {
    if (this.fiveGDown && ts >= this.fiveGDown.until) {
      events.push({ type: 'fiveg_up', ts, detail: { downMin: round((ts - this.fiveGDown.since) / 60_000) } });
      this.fiveGDown = undefined;
    } else if (!this.fiveGDown && this.rng.happens(this.fiveGOutagesPerDay / 24, dt)) {
      this.fiveGDown = { since: ts, until: ts + this.rng.between(3, 25) * 60_000 };
      events.push({ type: 'fiveg_down', ts });
    }
  }

  private updateDoor(ts: number, dt: number, events: ModelEvent<'smart-pole'>[]): void {
    if (this.door && ts >= this.door.until) {
      events.push({ type: 'door_closed', ts, detail: { openMin: round((ts - this.door.since) / 60_000) } });
      this.door = undefined;
    } else if (!this.door && this.rng.happens(this.doorOpensPerDay / 24, dt)) {
      this.door = { since: ts, until: ts + this.rng.between(10, 45) * 60_000 };
      events.push({ type: 'door_open', ts });
    }
  }

  private updateCabinetAlarm(ts: number, cabinetTempC: number, events: ModelEvent<'smart-pole'>[]): void {
    if (!this.cabinetHot && cabinetTempC >= CABINET_OVERTEMP_C) {
      this.cabinetHot = true;
      events.push({ type: 'cabinet_overtemp', ts, detail: { cabinetTempC: round(cabinetTempC) } });
    } else if (this.cabinetHot && cabinetTempC <= CABINET_NORMAL_C) {
      this.cabinetHot = false;
      events.push({ type: 'cabinet_temp_normal', ts, detail: { cabinetTempC: round(cabinetTempC) } });
    }
  }
}
