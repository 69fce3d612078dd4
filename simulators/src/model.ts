import type { DeviceType, EventType, SampleByType } from '@tsunagaru/firmware-contracts';

/** Something that happened between two samples, published as a contract Event. */
export interface ModelEvent<T extends DeviceType = DeviceType> {
  type: EventType<T>;
  ts: number;
  detail?: Record<string, unknown>;
}

export interface ModelStep<T extends DeviceType = DeviceType> {
  sample: SampleByType[T];
  /** Events since the previous step, oldest first. */
  events: ModelEvent<T>[];
  /** The device sends nothing this step (e.g. a meter whose battery is dead). */
  silent?: boolean;
}

/**
 * A simulated device: a deterministic function of its seed and the timestamps it is stepped through.
 * Models never read a clock themselves, so tests can run 48 simulated hours in milliseconds.
 */
export interface DeviceModel<T extends DeviceType = DeviceType> {
  readonly type: T;
  /** Advances to `ts` (never backwards) and returns the reading at `ts`. */
  step(ts: number): ModelStep<T>;
}

/** Options every model takes from the fleet. */
export interface ModelBase {
  /** PRNG seed; the fleet derives one per device from its own seed and the device id. */
  seed: number;
  /** Nominal seconds between steps; used for the very first step, which has no previous one. */
  sampleSec: number;
}

/** Elapsed ms since the previous step (or one nominal interval on the first), refusing to go backwards. */
export class StepClock {
  private last: number | undefined;

  constructor(private readonly sampleSec: number) {}

  advance(ts: number): number {
    if (this.last !== undefined && ts < this.last) throw new RangeError(`model stepped backwards: ${ts} < ${this.last}`);
    const dt = this.last === undefined ? this.sampleSec * 1000 : ts - this.last;
    this.last = ts;
    return dt;
  }
}
