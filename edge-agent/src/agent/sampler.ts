import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { BufferedSample } from '../buffer/types.js';
import { edgeEvents, type EdgeEvent } from '../edge-events.js';
import type { Logger } from '../logger.js';
import type { ReadingValue } from '../modbus/point-codec.js';
import type { ReadResult, RegisterReader } from '../modbus/register-reader.js';

export interface SamplerStats {
  samples: number;
  /** Polls where no reading at all could be read (nothing to publish). */
  emptyPolls: number;
  /** Failed blocks or readings (timeouts, exceptions, out-of-range values). */
  readFailures: number;
  /** Ticks skipped because the previous poll was still running (a slow bus). */
  overruns: number;
  lastSampleAt: number | undefined;
  lastError: string | undefined;
}

export interface SamplerOptions<T extends DeviceType> {
  type: T;
  deviceId: string;
  /** Real ms between samples (the contract interval divided by the test speed-up). */
  intervalMs: number;
  /** Real ms between polls of the watch points; 0: edges are detected from the samples only. */
  watchIntervalMs: number;
  clock: () => number;
  logger: Logger;
  onSample: (sample: BufferedSample) => Promise<void>;
  onEdges: (events: EdgeEvent<T>[], ts: number) => Promise<void>;
}

/** The same failure is logged at warn at most once a minute; the health line carries the counts. */
const LOG_EVERY_MS = 60_000;

/**
 * Polls the register map: every point each interval (a sample), and the `watch` points in between, so
 * mains lost, a door opened or a link down is raised at once. A failed poll is counted and logged; the
 * next one runs on schedule regardless.
 */
export class Sampler<T extends DeviceType = DeviceType> {
  private readonly counters: SamplerStats = { samples: 0, emptyPolls: 0, readFailures: 0, overruns: 0, lastSampleAt: undefined, lastError: undefined };
  private state: Record<string, ReadingValue> = {};
  private sampleTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  private watching = false;
  private stopped = true;
  private readonly logged = new Map<string, number>();
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly reader: RegisterReader,
    private readonly o: SamplerOptions<T>,
  ) {}

  private get watchesEdges(): boolean {
    return this.o.watchIntervalMs > 0 && this.reader.map.points.some((p) => p.watch);
  }

  stats(): SamplerStats {
    return { ...this.counters };
  }

  start(): void {
    this.stopped = false;
    this.scheduleSample(0);
    if (this.watchesEdges) this.watchTimer = setInterval(() => this.tickWatch(), this.o.watchIntervalMs);
  }

  /** Changes the sample interval from the next tick on. */
  setIntervalMs(ms: number): void {
    this.o.intervalMs = ms;
    if (this.stopped) return;
    clearTimeout(this.sampleTimer);
    this.scheduleSample(ms);
  }

  /** Stops polling and waits for the poll in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sampleTimer);
    clearInterval(this.watchTimer);
    await this.current.catch(() => undefined);
  }

  private scheduleSample(delay: number): void {
    const due = Date.now() + delay;
    this.sampleTimer = setTimeout(() => {
      if (this.stopped) return;
      // The next tick is due one interval after this one was, so a slow poll does not make the interval drift.
      this.scheduleSample(Math.max(0, due + this.o.intervalMs - Date.now()));
      if (this.sampling) {
        this.counters.overruns++;
        return;
      }
      this.current = this.sample();
    }, delay);
  }

  private tickWatch(): void {
    if (this.stopped || this.watching || this.sampling) return;
    this.current = this.watch();
  }

  private async sample(): Promise<void> {
    this.sampling = true;
    try {
      const ts = this.o.clock();
      const r = await this.reader.readAll();
      this.report(r);
      if (Object.keys(r.readings).length === 0) {
        this.counters.emptyPolls++;
        return;
      }
      if (!this.watchesEdges) await this.edges(r, ts);
      this.counters.samples++;
      this.counters.lastSampleAt = ts;
      await this.o.onSample({ ts, ...r.readings });
    } catch (err) {
      this.o.logger.error({ deviceId: this.o.deviceId, err: (err as Error).message }, 'sample could not be stored');
    } finally {
      this.sampling = false;
    }
  }

  private async watch(): Promise<void> {
    this.watching = true;
    try {
      const ts = this.o.clock();
      const r = await this.reader.readWatched();
      this.report(r);
      await this.edges(r, ts);
    } catch (err) {
      this.o.logger.error({ deviceId: this.o.deviceId, err: (err as Error).message }, 'event could not be stored');
    } finally {
      this.watching = false;
    }
  }

  private async edges(r: ReadResult, ts: number): Promise<void> {
    const events = edgeEvents(this.o.type, this.state, r.readings);
    this.state = { ...this.state, ...r.readings };
    if (events.length > 0) await this.o.onEdges(events, ts);
  }

  private report(r: ReadResult): void {
    const now = Date.now();
    for (const f of r.failures) {
      this.counters.readFailures++;
      this.counters.lastError = f.message;
      const key = `${f.code}:${f.readings.join(',')}`;
      const level = now - (this.logged.get(key) ?? -Infinity) >= LOG_EVERY_MS ? 'warn' : 'debug';
      if (level === 'warn') this.logged.set(key, now);
      this.o.logger[level]({ deviceId: this.o.deviceId, code: f.code, readings: f.readings, err: f.message }, 'modbus read failed; polling goes on');
    }
  }
}
