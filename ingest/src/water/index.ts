/** Water analytics: volumes from interpolated registers, DMA balance, minimum night flow, usage, reads. */
export { DMA_INLET_SITE, balanceOf, dmaBalances, type BalanceSettings, type DmaBalance, type WaterMeterRef } from './balance.js';
export { dmaNights, type DmaNight, type NightSettings } from './night-flow.js';
export { meterUsage, type UsageBucket, type UsageInterval } from './usage.js';
export { monthlyReads, type MonthlyRead } from './reads.js';
export { registersAt, DEFAULT_REGISTER_SETTINGS, type WaterReader, type RegisterAt, type RegisterBreak, type RegisterSettings } from './registers.js';
export { meterVolumes, type MeterVolume } from './volumes.js';
export { figureKey, keptFigures, type FigureBook, type FigureBookStatus, type KeptFigure } from './kept-figures.js';
export { balanceSettings, nightSettings } from './settings.js';
export * from './local-days.js';
