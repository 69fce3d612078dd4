/**
 * Battery strings of a −48 V base-station plant (reported as positive volts, as controllers do).
 * Numbers are typical data-sheet values, good enough to make discharge curves look right. This is the
 * physics the scenarios' ground truth comes from: a string is discharged step by step to its low-voltage
 * disconnect, and nothing here is shared with the ingest's estimate.
 */
export type BatteryChemistry = 'vrla' | 'li-ion';

/** LiFePO4 rest voltage per cell against state of charge: [socPct, volts]. */
const LFP_CELL_V: readonly (readonly [number, number])[] = [
  [0, 2.95], [5, 3.1], [10, 3.2], [20, 3.25], [50, 3.29], [80, 3.32], [95, 3.36], [100, 3.45],
];

function interpolate(table: readonly (readonly [number, number])[], x: number): number {
  let prev = table[0] ?? [0, 0];
  for (const point of table) {
    if (x <= point[0]) {
      const span = point[0] - prev[0];
      return span === 0 ? point[1] : prev[1] + ((x - prev[0]) / span) * (point[1] - prev[1]);
    }
    prev = point;
  }
  return prev[1];
}

export interface ChemistryProfile {
  /** Peukert exponent: how much faster capacity goes at high current (domain notes: 1.03 Li-ion … 1.3 flooded). */
  peukertK: number;
  /** Cells in series in the −48 V string. */
  cells: number;
  /**
   * End voltage per cell under load, where the controller's low-voltage disconnect trips (domain notes:
   * VRLA ≈ 1.75–1.80 V). Rated Ah are quoted down to it, so state of charge 0 % is this point.
   */
  endVoltsPerCell: number;
  /** Charge current limit after mains returns, as a fraction of capacity per hour (C-rate). */
  chargeCRate: number;
  /** Open-circuit voltage per cell for a state of charge. */
  restCellV(socPct: number): number;
  /**
   * Extra sag per cell near empty (the "knee" of the discharge curve): the last few per cent go fast,
   * which is where the end voltage is met.
   */
  kneeCellV(socPct: number): number;
  /** Internal resistance of the string, ohms: voltage sags by I·R under load. */
  resistanceOhm: number;
}

export const CHEMISTRIES: Record<BatteryChemistry, ChemistryProfile> = {
  // 24 × 2 V lead-acid cells: ~1.95 V/cell empty … 2.13 V/cell full at rest; the end voltage 1.80 V/cell
  // (43.2 V) is met at 0 % state of charge under a C10 load.
  vrla: {
    peukertK: 1.2, cells: 24, endVoltsPerCell: 1.8, chargeCRate: 0.1, resistanceOhm: 0.012,
    restCellV: (soc) => 1.95 + 0.18 * (soc / 100),
    kneeCellV: (soc) => 0.13 * Math.exp(-Math.max(0, soc) / 3),
  },
  // 16 × LiFePO4 cells: a flat plateau near 3.3 V/cell with knees at both ends; end voltage 2.8 V/cell.
  'li-ion': {
    peukertK: 1.03, cells: 16, endVoltsPerCell: 2.8, chargeCRate: 0.3, resistanceOhm: 0.005,
    restCellV: (soc) => interpolate(LFP_CELL_V, soc),
    kneeCellV: (soc) => 0.14 * Math.exp(-Math.max(0, soc) / 2),
  },
};

/** String voltage at the terminals: rest voltage less the knee and the I·R sag of a discharge current. */
export function terminalVolts(chemistry: ChemistryProfile, socPct: number, dischargeA: number): number {
  const cellV = chemistry.restCellV(socPct) - (dischargeA > 0 ? chemistry.kneeCellV(socPct) : 0);
  return chemistry.cells * cellV - Math.max(0, dischargeA) * chemistry.resistanceOhm;
}

/**
 * IEEE 485 temperature correction of lead-acid capacity (domain notes, the table in °F converted):
 * the capacity a string gives is its rated capacity ÷ this factor. The simulator's physics applies it to
 * the battery it models.
 */
const IEEE485_FACTOR: readonly (readonly [number, number])[] = [
  [-3.9, 1.52], [0, 1.4], [4.4, 1.3], [10, 1.19], [15.6, 1.11], [20, 1.056], [25, 1.0], [26.7, 0.987],
];

export function capacityTemperatureFactor(tempC: number): number {
  if (tempC <= IEEE485_FACTOR[0]![0]) return IEEE485_FACTOR[0]![1];
  return interpolate(IEEE485_FACTOR, tempC);
}

/**
 * Ampere-hours a discharge at `currentA` for `hours` takes from the battery, with Peukert's law relative
 * to the 10-hour rate the capacity is rated at: high currents use more than I·t.
 */
export function peukertAh(chemistry: ChemistryProfile, currentA: number, hours: number, capacityAh: number): number {
  if (currentA <= 0) return 0;
  const i10 = capacityAh / 10;
  return currentA * hours * (currentA / i10) ** (chemistry.peukertK - 1);
}
