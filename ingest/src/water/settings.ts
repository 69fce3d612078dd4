/** The water settings of the alert rules file (rules-config.ts `water`), as the water modules take them. */
import type { AlertRulesConfig } from '../alerts/rules-config.js';
import type { BalanceSettings } from './balance.js';
import type { NightSettings } from './night-flow.js';

type WaterConfig = AlertRulesConfig['water'];

export function balanceSettings(w: WaterConfig): BalanceSettings {
  return { maxGapMs: w.balance.maxGapHours * 3_600_000, resetMinDropL: w.balance.resetMinDropL, minCoveragePct: w.balance.minCoveragePct };
}

export function nightSettings(w: WaterConfig): NightSettings {
  return { utcOffsetMin: w.night.utcOffsetMin, startHour: w.night.startHour, endHour: w.night.endHour, legitimateUsePct: w.night.legitimateUsePct };
}
