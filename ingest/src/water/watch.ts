/**
 * What the clock-driven water rules judge, read from the store before they run (the rules themselves are
 * synchronous): each DMA's recent nights (night-flow.ts, the same figures the API shows) and, once a month
 * is over, every household's use in it against the month before and the same month last year.
 */
import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { AlertRulesConfig } from '../alerts/rules-config.js';
import type { MonthUse } from '../alerts/rules/usage-rise.js';
import type { WaterReader } from './registers.js';
import { dmaMeters } from './balance.js';
import { localDate, localMonth, monthStart, nightWindow } from './local-days.js';
import { dmaNights, type DmaNight } from './night-flow.js';
import { registersAt } from './registers.js';
import { balanceSettings, nightSettings } from './settings.js';
import { breaksByDevice, volumesBetween } from './volumes.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Households per read of the monthly use. */
export const HOUSEHOLDS_PER_READ = 5_000;

export interface WaterFigures {
  nights: Map<string, DmaNight[]>;
  usage: MonthUse[];
}

/** What the rules remember having judged (their saved state), so a restart does not read it again. */
export interface WaterKnown {
  /** The month (YYYY-MM) whose household use was last judged. */
  usageMonthJudged?: string;
}

/** What the watch has read (health: alerts.water), so an operator sees when the month was last judged. */
export interface WaterWatchStatus {
  /** Reads finished since the start (a read fails as a whole and is tried again). */
  reads: number;
  /** A read is under way. */
  reading: boolean;
  /** Seconds the last finished read took; null before the first. */
  lastReadSeconds: number | null;
  /** The month whose household use was read last (by this process); null before. */
  usageMonthRead: string | null;
}

export interface WaterWatchDeps {
  db: WaterReader;
  devices: { listDevices(): DeviceRecord[] };
  config: Readonly<AlertRulesConfig>;
  /** Households per read of the monthly use; default HOUSEHOLDS_PER_READ. */
  householdsPerRead?: number;
}

export class WaterWatch {
  private lastRun = -Infinity;
  private readonly state: WaterWatchStatus = { reads: 0, reading: false, lastReadSeconds: null, usageMonthRead: null };

  constructor(private readonly deps: WaterWatchDeps) {}

  /** The figures to judge now, or null when the last run is less than `night.evaluateEveryMin` ago. */
  async gather(now: number, known: WaterKnown = {}): Promise<WaterFigures | null> {
    const { water: w, rules } = this.deps.config;
    if (!rules['dma-night-flow'].enabled && !rules['water-usage-rise'].enabled) return null;
    if (now - this.lastRun < w.night.evaluateEveryMin * 60_000) return null;
    this.lastRun = now;
    const t0 = performance.now();
    this.state.reading = true;
    try {
      const figures = await this.read(now, known);
      this.state.reads++;
      this.state.lastReadSeconds = (performance.now() - t0) / 1000;
      return figures;
    } finally {
      this.state.reading = false;
    }
  }

  status(): WaterWatchStatus {
    return { ...this.state };
  }

  private async read(now: number, known: WaterKnown): Promise<WaterFigures> {
    const { water: w } = this.deps.config;
    const meters = dmaMeters(this.deps.devices.listDevices());
    const ns = nightSettings(w);
    // The nights whose window has ended, newest `rejudgeNights` (late data may still change them).
    const dates: string[] = [];
    for (let t = now; dates.length < w.night.rejudgeNights && t > now - 30 * DAY; t -= DAY) {
      const date = localDate(t, ns);
      if (nightWindow(date, ns)[1] <= now) dates.push(date);
    }
    // MNF is measured at the inlet: a DMA without an inlet meter has no night to judge.
    const inletDmas = new Set(meters.filter((m) => m.inlet).map((m) => m.dma));
    const withInlet = meters.filter((m) => inletDmas.has(m.dma));
    const nights = withInlet.length > 0 && dates.length > 0 ? await dmaNights(this.deps.db, withInlet, dates.reverse(), ns, balanceSettings(w)) : new Map<string, DmaNight[]>();
    return { nights, usage: await this.monthUse(now, meters.filter((m) => !m.inlet).map((m) => m.id), known.usageMonthJudged) };
  }

  /** Once per month, after its grace: every household's use in the month just over. */
  private async monthUse(now: number, households: string[], judged: string | undefined): Promise<MonthUse[]> {
    const w = this.deps.config.water;
    const c = nightSettings(w);
    const month = localMonth(monthStart(localMonth(now, c), c, -1), c);
    if (this.state.usageMonthRead === month || judged === month || now < monthStart(month, c, 1) + w.usage.graceHours * HOUR || households.length === 0) return [];
    const bounds = [-12, -11, -1, 0, 1].map((k) => monthStart(month, c, k));
    const out: MonthUse[] = [];
    // A few thousand households per read: the city's 130,000 at once passed the read limit (and a
    // gigabyte of memory), so the rule never judged a month.
    const per = this.deps.householdsPerRead ?? HOUSEHOLDS_PER_READ;
    for (let k = 0; k < households.length; k += per) {
      const ids = households.slice(k, k + per);
      const { at, breaks } = await registersAt(this.deps.db, ids, bounds, balanceSettings(w));
      const own = breaksByDevice(breaks);
      for (const id of ids) {
        const v = volumesBetween(id, at.get(id)!, bounds, own.get(id) ?? []);
        out.push({ deviceId: id, month, litres: v[3]!.litres, previousLitres: v[2]!.litres, lastYearLitres: v[0]!.litres });
      }
    }
    // Judged once read in full: a read that failed is tried again at the next evaluation.
    this.state.usageMonthRead = month;
    return out;
  }
}
