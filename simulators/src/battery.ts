/**
 * Battery strings of a −48 V base-station plant (reported as positive volts, as controllers do).
 * Numbers are typical data-sheet values, good enough to make discharge curves look right.
 */
export type BatteryChemistry = 'vrla' | 'li-ion';

/** LiFePO4 rest voltage per cell against state of charge: [socPct, volts]. */
const LFP_CELL_V: readonly (readonly [number, number])[] = [
  [0, 2.9], [5, 3.1], [10, 3.2], [20, 3.25], [50, 3.29], [80, 3.32], [95, 3.36], [100, 3.45],
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
  /** The controller's low-voltage disconnect, as state of charge: below it the site goes dark. */
  lvdSocPct: number;
  /** Charge current limit after mains returns, as a fraction of capacity per hour (C-rate). */
  chargeCRate: number;
  /** Terminal voltage at rest for a state of charge. */
  restV(socPct: number): number;
  /** Internal resistance of the string, ohms: voltage sags by I·R under load. */
  resistanceOhm: number;
}

export const CHEMISTRIES: Record<BatteryChemistry, ChemistryProfile> = {
  // 24 × 2 V lead-acid cells: 1.93 V/cell empty … 2.13 V/cell full at rest.
  vrla: { peukertK: 1.2, lvdSocPct: 8, chargeCRate: 0.1, resistanceOhm: 0.012, restV: (soc) => 24 * (1.93 + 0.2 * (soc / 100)) },
  // 16 × LiFePO4 cells: a flat plateau near 3.3 V/cell with knees at both ends.
  'li-ion': { peukertK: 1.03, lvdSocPct: 5, chargeCRate: 0.3, resistanceOhm: 0.005, restV: (soc) => 16 * interpolate(LFP_CELL_V, soc) },
};

/**
 * Ampere-hours a discharge at `currentA` for `hours` takes from the battery, with Peukert's law relative
 * to the 10-hour rate the capacity is rated at: high currents use more than I·t.
 */
export function peukertAh(chemistry: ChemistryProfile, currentA: number, hours: number, capacityAh: number): number {
  if (currentA <= 0) return 0;
  const i10 = capacityAh / 10;
  return currentA * hours * (currentA / i10) ** (chemistry.peukertK - 1);
}
