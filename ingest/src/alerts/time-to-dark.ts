/**
 * Time to dark of a base-station DC plant (domain notes, "Base-station backup power"). A standby plant on
 * battery runs until its low-voltage disconnect (LVD) at the end voltage; rated Ah are quoted down to that
 * voltage, so state of charge 0 % is the disconnect. (A 50 % depth-of-discharge limit is a cycle-life
 * rule for batteries cycled daily, not a limit on emergency runtime.)
 *
 *   remaining Ah = SoC × capacity × SoH ÷ IEEE 485 temperature factor − configured reserve
 *   hours        = H · (C / (I · H))^k · remaining Ah ÷ C        (Peukert at the present discharge current I,
 *                                                                   C the derated capacity at the H-hour rate)
 *
 * plus the generator's fuel when it will carry the site. When the controller reports its own estimate
 * (`runtimeMin`, from its discharge tables to the end voltage), that is preferred by default, and both
 * are kept so an operator can see them side by side.
 */
export interface ChemistryParams {
  peukertK: number;
}

export interface TimeToDarkParams {
  chemistry: ChemistryParams;
  /** Hours of the rating discharge (10 for C10). */
  ratedHours: number;
  /** [°C, factor] points, interpolated; outside them the nearest end applies. Capacity ÷ factor. */
  temperatureDerating: readonly (readonly number[])[];
  /** Share of the capacity held back and not counted as runtime, % (default 0: run to the disconnect). */
  reservePct: number;
  /** Hours a full tank runs the generator. */
  generatorTankHours: number;
  /** Use the controller's `runtimeMin` for the battery part when it reports one. */
  preferController: boolean;
}

export interface PlantReading {
  mains?: 'on' | 'off';
  batterySocPct?: number;
  batteryCapacityAh?: number;
  batterySohPct?: number;
  batteryTempC?: number;
  loadA?: number;
  batteryA?: number;
  generator?: 'off' | 'starting' | 'running' | 'fault';
  fuelPct?: number;
  /** The controller's own battery time left, minutes. */
  runtimeMin?: number;
  /**
   * The site's typical load by hour of day (UTC hours 0–23, A), learned from its own readings: a site's
   * load follows its traffic through the day, and a discharge of many hours crosses that cycle.
   */
  loadByHour?: ReadonlyArray<number | null>;
  /** Device time of the reading (epoch ms), to place it in the daily load cycle. */
  ts?: number;
}

export interface TimeToDark {
  /** What the site has, minutes: the preferred battery estimate plus the generator; null when unknown. */
  minutes: number | null;
  /** Which battery estimate `minutes` uses. */
  source: 'controller' | 'computed' | null;
  /** Battery part of `minutes`. */
  batteryMinutes: number | null;
  /** The ingest's own battery estimate (Peukert, SoH, temperature); null without SoC, capacity or load. */
  computedBatteryMinutes: number | null;
  /** The controller's battery estimate as reported; null when it reports none. */
  controllerBatteryMinutes: number | null;
  generatorMinutes: number;
  /** Load the estimate assumes now, A. */
  loadA: number | null;
  temperatureFactor: number;
  /** Ah the battery can still give before its disconnect, after SoH, temperature and the reserve. */
  remainingAh: number | null;
}

/** IEEE 485 temperature correction factor at `tempC` (linear between the table's points). */
export function temperatureFactor(tempC: number | undefined, table: readonly (readonly number[])[]): number {
  const points = [...table].map(([t, f]) => [t ?? 25, f ?? 1] as const).sort((a, b) => a[0] - b[0]);
  if (tempC === undefined || points.length === 0) return 1;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (tempC <= first[0]) return first[1];
  if (tempC >= last[0]) return last[1];
  for (let i = 1; i < points.length; i++) {
    const [t1, f1] = points[i]!;
    const [t0, f0] = points[i - 1]!;
    if (tempC <= t1) return f0 + ((tempC - t0) / (t1 - t0)) * (f1 - f0);
  }
  return last[1];
}

/** The load the battery carries (or would carry if mains failed now). */
export function dischargeLoadA(r: PlantReading): number | null {
  if (r.loadA !== undefined && r.loadA > 0) return r.loadA;
  if (r.batteryA !== undefined && r.batteryA < 0) return -r.batteryA;
  return null;
}

/**
 * Whether the generator will carry the site: running or starting; or, on mains, standing by (`off`) with
 * fuel reported. Off while mains is off means it did not start; `fault` never counts.
 */
function generatorAvailable(r: PlantReading): boolean {
  if (r.fuelPct === undefined) return false;
  if (r.generator === 'running' || r.generator === 'starting') return true;
  return r.generator === 'off' && r.mains === 'on';
}

/**
 * Hours the battery runs on `remainingShare` of its capacity: Peukert's law at the present current for the
 * first hour, then at the site's typical load for each later hour of the day where it has learned one.
 * With a constant load this is H · (C / (I · H))^k · remainingShare.
 */
function peukertHours(remainingShare: number, capacityAh: number, p: TimeToDarkParams, presentA: number, r: PlantReading): number {
  const H = p.ratedHours;
  // Share of the capacity one hour at `amps` takes: 1 / (hours from full at that current).
  const sharePerHour = (amps: number) => 1 / (H * (capacityAh / (amps * H)) ** p.chemistry.peukertK);
  const profile = r.loadByHour;
  if (!profile || r.ts === undefined) return remainingShare / sharePerHour(presentA);
  let left = remainingShare;
  let hours = 0;
  const firstHour = new Date(r.ts).getUTCHours();
  for (let h = 0; h < 24 * 30; h++) {
    const amps = h === 0 ? presentA : (profile[(firstHour + h) % 24] ?? presentA);
    const rate = sharePerHour(Math.max(amps, 0.1));
    if (left <= rate) return hours + left / rate;
    left -= rate;
    hours++;
  }
  return hours;
}

/** The ingest's own battery estimate: remaining Ah to the disconnect, by Peukert over the expected load. */
function computedBattery(r: PlantReading, p: TimeToDarkParams, factor: number, loadA: number | null): { minutes: number | null; remainingAh: number | null } {
  if (r.batterySocPct === undefined || r.batteryCapacityAh === undefined || r.batteryCapacityAh <= 0) return { minutes: null, remainingAh: null };
  const capacityAh = (r.batteryCapacityAh * (r.batterySohPct ?? 100)) / 100 / factor;
  const remainingAh = Math.max(0, (r.batterySocPct / 100) * capacityAh - (p.reservePct / 100) * capacityAh);
  if (loadA === null) return { minutes: null, remainingAh };
  return { minutes: peukertHours(remainingAh / capacityAh, capacityAh, p, loadA, r) * 60, remainingAh };
}

/**
 * The controller's estimate knows the cells (its discharge tables, the temperature it measures), but it
 * assumes the present load for hours ahead. Its remaining charge is kept and spent over the site's daily
 * load instead, when the ingest has learned one; with a flat load this is the controller's own number.
 */
function controllerOverDailyLoad(controllerMinutes: number, r: PlantReading, p: TimeToDarkParams, factor: number, loadA: number | null): number {
  if (!r.loadByHour || r.ts === undefined || loadA === null || r.batteryCapacityAh === undefined || r.batteryCapacityAh <= 0) return controllerMinutes;
  const capacityAh = (r.batteryCapacityAh * (r.batterySohPct ?? 100)) / 100 / factor;
  const H = p.ratedHours;
  const share = (controllerMinutes / 60) / (H * (capacityAh / (loadA * H)) ** p.chemistry.peukertK);
  return peukertHours(share, capacityAh, p, loadA, r) * 60;
}

export function timeToDark(r: PlantReading, p: TimeToDarkParams): TimeToDark {
  const factor = temperatureFactor(r.batteryTempC, p.temperatureDerating);
  const generatorMinutes = generatorAvailable(r) ? ((r.fuelPct ?? 0) / 100) * p.generatorTankHours * 60 : 0;
  const loadA = dischargeLoadA(r);
  const computed = computedBattery(r, p, factor, loadA);
  const controller = r.runtimeMin ?? null;
  const source = controller !== null && (p.preferController || computed.minutes === null) ? 'controller' : computed.minutes !== null ? 'computed' : null;
  const batteryMinutes = source === 'controller' ? controllerOverDailyLoad(controller!, r, p, factor, loadA) : computed.minutes;
  return {
    minutes: batteryMinutes === null ? null : batteryMinutes + generatorMinutes,
    source,
    batteryMinutes,
    computedBatteryMinutes: computed.minutes,
    controllerBatteryMinutes: controller,
    generatorMinutes,
    loadA,
    temperatureFactor: factor,
    remainingAh: computed.remainingAh,
  };
}

/**
 * An estimate belongs to the time of its reading: on battery, the site has been discharging since. The
 * minutes left at `now` (never below 0); on mains the estimate is what would happen if mains failed, and
 * does not count down.
 */
export function minutesLeftAt(estimateMinutes: number, readingTs: number, onBattery: boolean, now: number): number {
  if (!onBattery) return estimateMinutes;
  return Math.max(0, estimateMinutes - Math.max(0, now - readingTs) / 60_000);
}
