/**
 * Physical bounds of every reading (contract v1, "Units and bounds"). A value outside its range makes the
 * message invalid. Ranges are generous sensor/plant limits, not alarm thresholds; see README "Decisions".
 */
export interface Bound {
  min: number;
  max: number;
  integer?: boolean;
  unit: string;
}

/** 2000-01-01T00:00:00Z: an earlier timestamp means the device clock was never set. */
export const MIN_TS_MS = 946_684_800_000;
/** 2100-01-01T00:00:00Z */
export const MAX_TS_MS = 4_102_444_800_000;

export const BOUNDS = {
  // smart-pole
  airTempC: { min: -50, max: 70, unit: '°C' },
  humidityPct: { min: 0, max: 100, unit: '%' },
  noiseDb: { min: 0, max: 194, unit: 'dB' },
  pm25: { min: 0, max: 1000, unit: 'µg/m³' },
  peopleCount: { min: 0, max: 1_000_000, integer: true, unit: 'people' },
  wifiClients: { min: 0, max: 100_000, integer: true, unit: 'clients' },
  powerW: { min: 0, max: 100_000, unit: 'W' },
  cabinetTempC: { min: -50, max: 120, unit: '°C' },
  // water-meter
  indexL: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, unit: 'L' },
  flowLph: { min: -1_000_000, max: 1_000_000, unit: 'L/h' },
  batteryPct: { min: 0, max: 100, unit: '%' },
  rssiDbm: { min: -200, max: 30, unit: 'dBm' },
  snrDb: { min: -50, max: 50, unit: 'dB' },
  // bs-power
  rectifierV: { min: 0, max: 75, unit: 'V' },
  loadA: { min: 0, max: 5_000, unit: 'A' },
  batterySocPct: { min: 0, max: 100, unit: '%' },
  batteryV: { min: 0, max: 75, unit: 'V' },
  batteryA: { min: -5_000, max: 5_000, unit: 'A' },
  batteryTempC: { min: -40, max: 90, unit: '°C' },
  batterySohPct: { min: 0, max: 100, unit: '%' },
  batteryCapacityAh: { min: 0, max: 100_000, unit: 'Ah' },
  fuelPct: { min: 0, max: 100, unit: '%' },
  runtimeMin: { min: 0, max: 1_000_000, unit: 'min' },
  // ring-node
  rxDbm: { min: -100, max: 30, unit: 'dBm' },
  // commands
  sampleSec: { min: 1, max: 86_400, integer: true, unit: 's' },
} as const satisfies Record<string, Bound>;

export type BoundedReading = keyof typeof BOUNDS;
