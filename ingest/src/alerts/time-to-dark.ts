/**
 * Time to dark of a base-station DC plant (domain notes, "Base-station backup power"): minutes until the
 * battery reaches its usable depth of discharge at the present load, by Peukert's law
 *   t = H · (C / (I · H))^k        (hours from full; C Ah rated at the H-hour rate, I amperes)
 * with C derated for state of health and temperature (IEEE 485: capacity ÷ factor, 1.00 at 25 °C), scaled
 * by the share of capacity still usable (SoC down to 100 % − depth of discharge), plus generator fuel.
 */
export interface ChemistryParams {
  peukertK: number;
  /** Usable depth of discharge, % (≈ 50 VRLA, ≈ 90 LiFePO4). */
  depthOfDischargePct: number;
}

export interface TimeToDarkParams {
  chemistry: ChemistryParams;
  /** Hours of the rating discharge (10 for C10). */
  ratedHours: number;
  /** [°C, factor] points, interpolated; outside them the nearest end applies. */
  temperatureDerating: readonly (readonly number[])[];
  /** Hours a full tank runs the generator. */
  generatorTankHours: number;
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
}

export interface TimeToDark {
  /** Battery plus generator, minutes; null when it cannot be computed (no SoC, capacity or load). */
  minutes: number | null;
  batteryMinutes: number | null;
  generatorMinutes: number;
  /** Load the estimate assumes, A. */
  loadA: number | null;
  temperatureFactor: number;
  /** Ah the battery can still give before its depth-of-discharge limit, after SoH and temperature. */
  usableAh: number | null;
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

export function timeToDark(r: PlantReading, p: TimeToDarkParams): TimeToDark {
  const factor = temperatureFactor(r.batteryTempC, p.temperatureDerating);
  const generatorMinutes = generatorAvailable(r) ? ((r.fuelPct ?? 0) / 100) * p.generatorTankHours * 60 : 0;
  const loadA = dischargeLoadA(r);
  if (r.batterySocPct === undefined || r.batteryCapacityAh === undefined || r.batteryCapacityAh <= 0) {
    return { minutes: null, batteryMinutes: null, generatorMinutes, loadA, temperatureFactor: factor, usableAh: null };
  }
  const capacityAh = (r.batteryCapacityAh * (r.batterySohPct ?? 100)) / 100 / factor;
  const usableShare = Math.max(0, r.batterySocPct / 100 - (1 - p.chemistry.depthOfDischargePct / 100));
  const usableAh = usableShare * capacityAh;
  if (loadA === null) return { minutes: null, batteryMinutes: null, generatorMinutes, loadA, temperatureFactor: factor, usableAh };
  const H = p.ratedHours;
  const fullHours = H * (capacityAh / (loadA * H)) ** p.chemistry.peukertK;
  const batteryMinutes = usableShare * fullHours * 60;
  return { minutes: batteryMinutes + generatorMinutes, batteryMinutes, generatorMinutes, loadA, temperatureFactor: factor, usableAh };
}
