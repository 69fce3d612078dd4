/**
 * Monthly register reads for billing: every meter's register at the start of the month and of the next
 * (local midnight on the 1st), interpolated between the readings around it, and the month's consumption.
 * A read that is estimated (no reading after the boundary yet, or a silent meter) says so.
 */
import type { WaterReader } from './registers.js';
import type { WaterMeterRef } from './balance.js';
import { monthStart, type LocalClock } from './local-days.js';
import { registersAt, type RegisterSettings } from './registers.js';
import { breaksByDevice, volumesBetween } from './volumes.js';

export interface MonthlyRead {
  deviceId: string;
  dma: string;
  inlet: boolean;
  month: string;
  /** Register at the month's start and end (litres, as the meter shows it), null when unknown. */
  startIndexL: number | null;
  endIndexL: number | null;
  startHow: string;
  endHow: string;
  consumptionL: number | null;
  estimated: boolean;
  rollovers: number;
  resets: number;
}

const whole = (x: number | null) => (x === null ? null : Math.round(x));

export async function monthlyReads(db: WaterReader, meters: readonly WaterMeterRef[], month: string, c: LocalClock, s: RegisterSettings): Promise<MonthlyRead[]> {
  const bounds = [monthStart(month, c), monthStart(month, c, 1)];
  const { at, breaks } = await registersAt(db, meters.map((m) => m.id), bounds, s);
  const own = breaksByDevice(breaks);
  return [...meters].sort((a, b) => a.dma.localeCompare(b.dma) || a.id.localeCompare(b.id)).map((m) => {
    const regs = at.get(m.id)!;
    const [v] = volumesBetween(m.id, regs, bounds, own.get(m.id) ?? []);
    return {
      deviceId: m.id, dma: m.dma, inlet: m.inlet, month,
      startIndexL: whole(regs[0]!.indexL), endIndexL: whole(regs[1]!.indexL), startHow: regs[0]!.how, endHow: regs[1]!.how,
      consumptionL: whole(v!.litres), estimated: !v!.covered,
      rollovers: v!.breaks.filter((b) => b.kind === 'rollover').length, resets: v!.breaks.filter((b) => b.kind === 'reset').length,
    };
  });
}
