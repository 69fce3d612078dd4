/**
 * A meter's consumption over [from, to) = its corrected register at `to` − at `from` (registers.ts), with
 * how each end was found, so nobody mistakes an estimate for a reading.
 */
import type { WaterReader } from './registers.js';
import { registersAt, type RegisterAt, type RegisterBreak, type RegisterSettings } from './registers.js';

export interface MeterVolume {
  deviceId: string;
  from: number;
  to: number;
  /** Litres over [from, to); null when either end is unknown (no reading within reach). */
  litres: number | null;
  /** Readings around both ends: the volume is interpolated, not estimated. */
  covered: boolean;
  /** An end was extrapolated from one side at the meter's mean flow (a silent or late meter). */
  estimated: boolean;
  /** Rollovers and resets of the register between the readings used. */
  breaks: RegisterBreak[];
  start: RegisterAt;
  end: RegisterAt;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Volumes between consecutive `boundaries` (sorted), from registers already read. */
export function volumesBetween(deviceId: string, regs: readonly RegisterAt[], boundaries: readonly number[], breaks: readonly RegisterBreak[]): MeterVolume[] {
  const out: MeterVolume[] = [];
  for (let i = 0; i + 1 < boundaries.length; i++) {
    const start = regs[i]!;
    const end = regs[i + 1]!;
    const litres = start.litres === null || end.litres === null ? null : round(end.litres - start.litres);
    const covered = start.how !== 'unknown' && start.how !== 'extrapolated' && end.how !== 'unknown' && end.how !== 'extrapolated';
    const lo = start.beforeTs ?? start.afterTs ?? boundaries[i]!;
    const hi = end.afterTs ?? end.beforeTs ?? boundaries[i + 1]!;
    out.push({
      deviceId, from: boundaries[i]!, to: boundaries[i + 1]!, litres, covered, estimated: litres !== null && !covered,
      breaks: breaks.filter((b) => b.deviceId === deviceId && b.ts > lo && b.ts <= hi), start, end,
    });
  }
  return out;
}

/** Every meter's volume over each interval between consecutive `boundaries` (sorted ascending). */
export async function meterVolumes(db: WaterReader, deviceIds: readonly string[], boundaries: readonly number[], s: RegisterSettings): Promise<Map<string, MeterVolume[]>> {
  const { at, breaks } = await registersAt(db, deviceIds, boundaries, s);
  const own = breaksByDevice(breaks);
  return new Map(deviceIds.map((id) => [id, volumesBetween(id, at.get(id)!, boundaries, own.get(id) ?? [])]));
}

/**
 * The breaks per meter, so each meter's volumes look only at its own: filtering the fleet's list for every
 * meter is quadratic (130,000 households' monthly use blocked the event loop for minutes).
 */
export function breaksByDevice(breaks: readonly RegisterBreak[]): Map<string, RegisterBreak[]> {
  const out = new Map<string, RegisterBreak[]>();
  for (const b of breaks) {
    const list = out.get(b.deviceId);
    if (list) list.push(b);
    else out.set(b.deviceId, [b]);
  }
  return out;
}
