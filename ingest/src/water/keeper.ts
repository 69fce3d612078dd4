/**
 * Keeps every DMA's daily figures (balance and night) of the last month computed, in the background, so
 * the DMA views and the daily series answer from the book (kept-figures.ts) instead of reading a month
 * of registers when someone asks. One DMA at a time, on the API's readers: a pass computes what changed
 * since the last (late data, the days still within reach of now) and leaves the rest as it is.
 */
import { dmaBalances, type BalanceSettings, type WaterMeterRef } from './balance.js';
import { byDma, forOnePass, type FigureBookStatus } from './kept-figures.js';
import { dayStart, daysBetween, localDate, type LocalClock } from './local-days.js';
import { dmaNights, type NightSettings } from './night-flow.js';
import type { WaterReader } from './registers.js';

const DAY = 86_400_000;

/**
 * The days before today covering the DMA views' default range (the last 30 days). Today is computed
 * when asked: its end is not read yet, so any reading changes it.
 */
export const KEEP_DAYS = 31;
/**
 * Nights are kept for the last week (the nights operators compare, the night-flow rule's): a night reads
 * every meter's hours around it, ten times a day's balance; older nights are kept once asked for.
 */
export const KEEP_NIGHTS = 7;
/** Every quarter of an hour, as the night-flow rule. */
export const KEEP_EVERY_MS = 15 * 60_000;

export interface KeeperDeps {
  water: WaterReader;
  /** The water meters with a DMA (the registry's). */
  meters(): WaterMeterRef[];
  settings(): { balance: BalanceSettings; night: NightSettings };
  clock(): number;
  log(level: 'info' | 'warn', detail: Record<string, unknown>, message: string): void;
}

export interface KeeperStatus {
  passes: number;
  running: boolean;
  /** Why no figure is kept ahead (the keeper then computes nothing; each view computes when asked). */
  notKeeping?: string;
  /** The last finished pass: DMAs, days, how long it took. */
  last?: { dmas: number; days: number; ms: number; at: number };
  /** Figures the book could not keep (its saves that failed). */
  book?: FigureBookStatus;
}

export class WaterFigureKeeper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopping = false;
  private readonly state: KeeperStatus = { passes: 0, running: false };

  constructor(private readonly d: KeeperDeps) {}

  /** A pass now, then every `everyMs`. */
  start(everyMs = KEEP_EVERY_MS): void {
    const tick = () => {
      this.pass ??= this.run()
        .catch((err: unknown) => this.d.log('warn', { err }, 'water figures not kept this pass (computed when asked)'))
        .finally(() => (this.pass = undefined));
    };
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  status(): KeeperStatus {
    const book = this.d.water.figures?.status();
    return { ...this.state, ...(this.state.last ? { last: { ...this.state.last } } : {}), ...(book ? { book } : {}) };
  }

  /**
   * Stops: no further DMA is computed. The read under way is not waited for (a DMA's month can take
   * seconds, a container's stop grace is seconds): closing the store interrupts it, and that is no failure.
   */
  stop(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  /** One pass over every DMA; resolves when done (or stopped). */
  async run(): Promise<void> {
    const started = performance.now();
    this.state.running = true;
    try {
      const { balance, night } = this.d.settings();
      const now = this.d.clock();
      const today = dayStart(now, night);
      const days = daysBetween(today - KEEP_DAYS * DAY, today, night);
      // Figures the store would not keep (another water clock than its own) would be computed each pass
      // for nothing: the views compute them when asked, as without the keeper.
      const notKeeping = whyNotKept(this.d.water, days[0]!, night);
      if (notKeeping) {
        if (notKeeping !== this.state.notKeeping) this.d.log('warn', { reason: notKeeping }, notKeeping);
        this.state.notKeeping = notKeeping;
        return;
      }
      delete this.state.notKeeping;
      const bounds = [...days, days.at(-1)! + DAY];
      const dates = days.slice(-KEEP_NIGHTS).map((d) => localDate(d, night));
      const groups = byDma(this.d.meters());
      // The days' changes are the same for every DMA: read once for the pass, not once per DMA.
      const water = { ...this.d.water, figures: forOnePass(this.d.water.figures!) };
      // Every DMA's balances first (the figures most asked for), then the nights.
      for (const kind of ['balances', 'nights'] as const) {
        for (const [dma, meters] of groups) {
          if (this.stopping) return;
          try {
            if (kind === 'balances') await dmaBalances(water, meters, bounds, balance);
            else await dmaNights(water, meters, dates, night, balance);
          } catch (err) {
            if (this.stopping) return;
            this.d.log('warn', { dma, err }, `water ${kind} of DMA ${dma} not kept this pass (computed when asked)`);
          }
        }
      }
      const ms = Math.round(performance.now() - started);
      this.state.passes++;
      this.state.last = { dmas: groups.size, days: days.length, ms, at: this.d.clock() };
      this.d.log('info', { dmas: groups.size, days: days.length, nights: dates.length, ms }, `water figures of ${groups.size} DMAs kept: balances of ${days.length} days, nights of ${dates.length} (${ms} ms)`);
    } finally {
      this.state.running = false;
    }
  }
}

/** Why the store keeps no figure of the local day starting at `day` (undefined when it does). */
function whyNotKept(water: WaterReader, day: number, clock: LocalClock): string | undefined {
  if (!water.figures) return 'DMA figures are not kept ahead: this store keeps none; each DMA view computes its figures when asked';
  if (water.figures.keeps(day, day + DAY)) return undefined;
  return `DMA figures are not kept ahead: the water clock is ${utcOffset(clock.utcOffsetMin)} (water.night.utcOffsetMin ${clock.utcOffsetMin}) and the store keeps figures of Japan days (UTC+09:00) only; each DMA view computes its figures when asked`;
}

const utcOffset = (min: number): string => `UTC${min < 0 ? '-' : '+'}${String(Math.floor(Math.abs(min) / 60)).padStart(2, '0')}:${String(Math.abs(min) % 60).padStart(2, '0')}`;
