/**
 * The water balance of a district metered area over [from, to) (domain notes): non-revenue water = inlet
 * (bulk) volume − Σ customer volumes, every volume from interpolated registers (volumes.ts), with the
 * coverage a utility needs before it believes the figure: customer meters enrolled, how many had readings
 * around both ends, how many were estimated from one side (silent or late), how many are missing, and the
 * share of customer volume estimated. A silent meter is never counted as zero use: it is estimated for a
 * while (registers.ts), then missing, and the balance says so and is flagged incomplete.
 */
import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { WaterReader } from './registers.js';
import type { RegisterSettings } from './registers.js';
import { byDma, keptFigures, type Computed } from './kept-figures.js';
import type { RegisterAt } from './registers.js';
import { meterVolumes, type MeterVolume } from './volumes.js';

/** A DMA's inlet (bulk) meter is a water meter provisioned with `site: "dma-inlet"`. */
export const DMA_INLET_SITE = 'dma-inlet';

export interface WaterMeterRef {
  id: string;
  dma: string;
  inlet: boolean;
}

/** The water meters of the registry that belong to a DMA (of `dma` only, when given). */
export function dmaMeters(devices: readonly DeviceRecord[], dma?: string): WaterMeterRef[] {
  return devices
    .filter((d) => d.type === 'water-meter' && typeof d.attributes.dma === 'string' && (dma === undefined || d.attributes.dma === dma))
    .map((d) => ({ id: d.id, dma: String(d.attributes.dma), inlet: d.attributes.site === DMA_INLET_SITE }));
}

export interface BalanceSettings extends RegisterSettings {
  /** Below this share of customer meters covered (readings around both ends), the balance is incomplete. */
  minCoveragePct: number;
}

export interface DmaBalance {
  dma: string;
  from: number;
  to: number;
  /** Customer meters enrolled in the DMA (its connections). */
  connections: number;
  /** Of them: readings around both ends (interpolated), estimated from one side, nothing within reach. */
  covered: number;
  estimated: number;
  missing: number;
  coveragePct: number;
  customerLitres: number;
  estimatedLitres: number;
  /** Share of the customer volume that is estimated, %. */
  estimatedPct: number;
  inletMeters: number;
  /** Null without an inlet meter, or when one has nothing within reach. */
  inletLitres: number | null;
  inletCovered: boolean;
  nonRevenueLitres: number | null;
  nonRevenuePct: number | null;
  rollovers: number;
  resets: number;
  /** Coverage at least the configured minimum and the inlet covered: the figure can be acted on. */
  complete: boolean;
  /** Why not, in words. */
  incomplete: string[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** One DMA's balance for one interval, from its meters' volumes. */
export function balanceOf(dma: string, meters: readonly WaterMeterRef[], volumes: ReadonlyMap<string, MeterVolume>, from: number, to: number, minCoveragePct: number): DmaBalance {
  const customers = meters.filter((m) => !m.inlet);
  const inlets = meters.filter((m) => m.inlet);
  const vol = (m: WaterMeterRef) => volumes.get(m.id);
  const covered = customers.filter((m) => vol(m)?.covered).length;
  const estimatedMeters = customers.filter((m) => vol(m)?.estimated);
  const missing = customers.length - covered - estimatedMeters.length;
  const customerLitres = round1(customers.reduce((s, m) => s + (vol(m)?.litres ?? 0), 0));
  const estimatedLitres = round1(estimatedMeters.reduce((s, m) => s + (vol(m)?.litres ?? 0), 0));
  const inletKnown = inlets.length > 0 && inlets.every((m) => vol(m)?.litres !== null && vol(m)?.litres !== undefined);
  const inletCovered = inlets.length > 0 && inlets.every((m) => vol(m)?.covered);
  const inletLitres = inletKnown ? round1(inlets.reduce((s, m) => s + vol(m)!.litres!, 0)) : null;
  const nonRevenueLitres = inletLitres === null ? null : round1(inletLitres - customerLitres);
  const coveragePct = customers.length === 0 ? 0 : round1((covered / customers.length) * 100);
  const all = meters.map(vol).filter((v): v is MeterVolume => v !== undefined);
  const breaks = all.flatMap((v) => v.breaks);
  const incomplete: string[] = [];
  if (inlets.length === 0) incomplete.push('no inlet meter');
  else if (!inletCovered) incomplete.push(inletKnown ? 'inlet volume estimated (no reading after the period yet)' : 'no inlet reading around the period');
  if (customers.length === 0) incomplete.push('no customer meters');
  else if (coveragePct < minCoveragePct) incomplete.push(`${customers.length - covered} of ${customers.length} customer meters without readings around both ends (${estimatedMeters.length} estimated, ${missing} missing); coverage ${coveragePct} % < ${minCoveragePct} %`);
  if (breaks.some((b) => b.kind === 'reset')) incomplete.push(`register reset on ${[...new Set(breaks.filter((b) => b.kind === 'reset').map((b) => b.deviceId))].join(', ')}`);
  return {
    dma, from, to,
    connections: customers.length, covered, estimated: estimatedMeters.length, missing, coveragePct,
    customerLitres, estimatedLitres, estimatedPct: customerLitres > 0 ? round1((estimatedLitres / customerLitres) * 100) : 0,
    inletMeters: inlets.length, inletLitres, inletCovered,
    nonRevenueLitres, nonRevenuePct: nonRevenueLitres === null || !inletLitres ? null : round1((nonRevenueLitres / inletLitres) * 100),
    rollovers: breaks.filter((b) => b.kind === 'rollover').length,
    resets: breaks.filter((b) => b.kind === 'reset').length,
    complete: incomplete.length === 0,
    incomplete,
  };
}

/** Balances of every DMA of `meters`, for each interval between consecutive `boundaries` (ascending): result[dma][i]. */
export async function dmaBalances(db: WaterReader, meters: readonly WaterMeterRef[], boundaries: readonly number[], s: BalanceSettings): Promise<Map<string, DmaBalance[]>> {
  const intervals = boundaries.slice(0, -1).map((from, i) => [from, boundaries[i + 1]!] as const);
  return keptFigures<DmaBalance>(db.figures, {
    kind: 'balance', groups: byDma(meters), intervals, reachMs: s.maxGapMs,
    settings: { maxGapMs: s.maxGapMs, resetMinDropL: s.resetMinDropL, minCoveragePct: s.minCoveragePct },
    compute: (ms, indexes) => computeBalances(db, ms, intervals.filter((_, i) => indexes.includes(i)), s),
  });
}

/** The balances of every DMA of `meters` over `intervals` (ascending, none overlapping), computed. */
async function computeBalances(db: WaterReader, meters: readonly WaterMeterRef[], intervals: ReadonlyArray<readonly [number, number]>, s: BalanceSettings): Promise<Map<string, Array<Computed<DmaBalance>>>> {
  // The intervals' ends as boundaries: an interval is then between two consecutive ones (a gap between
  // two intervals asked is computed too, and left out; an empty interval keeps both its ends).
  const bounds: number[] = [];
  const starts = intervals.map(([from, to]) => {
    if (bounds.at(-1) !== from) bounds.push(from);
    bounds.push(to);
    return bounds.length - 2;
  });
  const volumes = await meterVolumes(db, meters.map((m) => m.id), bounds, s);
  const out = new Map<string, Array<Computed<DmaBalance>>>();
  for (const [dma, ms] of byDma(meters)) {
    out.set(dma, intervals.map(([from, to], i) => {
      const j = starts[i]!;
      const own = new Map(ms.map((m) => [m.id, volumes.get(m.id)![j]!]));
      return { value: balanceOf(dma, ms, own, from, to, s.minCoveragePct), settled: [...own.values()].every((v) => readBetween(v.start) && readBetween(v.end)) };
    }));
  }
  return out;
}

/** A register read between two readings within reach: only data out of order can change it. */
export const readBetween = (r: RegisterAt): boolean => r.beforeTs !== null && r.afterTs !== null;
