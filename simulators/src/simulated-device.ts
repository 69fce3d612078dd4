import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { isEdgeAgentError, type DeviceSession, type Logger } from '@tsunagaru/edge-agent';
import type { DeviceModel, ModelStep } from './model.js';

/** Counters shared by every device of a fleet. */
export interface FleetCounters {
  /** Messages (telemetry and events) acknowledged by the broker. */
  published: number;
  errors: number;
  /** Samples skipped because too many messages were already waiting for the broker. */
  dropped: number;
}

export interface Timing {
  /** Wall clock, epoch ms. */
  clock: () => number;
  /** Simulated seconds per real second. */
  speed: number;
  /** Simulated time now; never ahead of `clock`. */
  simNow: () => number;
}

/** After this many missed intervals (a suspended laptop, a stalled event loop), skip ahead instead of bursting. */
const MAX_CATCH_UP_INTERVALS = 10;
/** Log the first few publish failures of a device, then one in a hundred. */
const LOUD_ERRORS = 5;

/**
 * Drives one model through one session: a sample every `sampleSec` of simulated time, events first, then
 * the telemetry. Ticks are scheduled against the wall clock so timer jitter never accumulates.
 */
export class SimulatedDevice {
  private n = 0;
  private startSim = 0;
  private startReal = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;
  private errorCount = 0;

  constructor(
    readonly session: DeviceSession<DeviceType>,
    private readonly model: DeviceModel<DeviceType>,
    private readonly sampleSec: number,
    private readonly timing: Timing,
    private readonly counters: FleetCounters,
    private readonly maxInFlight: number,
    private readonly logger: Logger,
  ) {}

  /** Starts sampling now (simulated): the first sample goes out at once. */
  begin(): void {
    this.running = true;
    this.startSim = this.timing.simNow();
    this.startReal = this.timing.clock();
    this.tick();
  }

  /** Stops sampling; publishes already handed to the session may still fail with EDGE_ERR_STOPPED. */
  halt(): void {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
  }

  private intervalMs(): number {
    return this.sampleSec * 1000;
  }

  private tick(): void {
    if (!this.running) return;
    const behind = Math.floor((this.timing.simNow() - this.startSim) / this.intervalMs()) - this.n;
    if (behind > MAX_CATCH_UP_INTERVALS) {
      this.logger.warn({ deviceId: this.session.deviceId, skipped: behind }, 'simulator fell behind; skipping ahead');
      this.n += behind;
    }
    const simTs = this.startSim + this.n * this.intervalMs();
    this.n++;
    try {
      this.publish(this.model.step(simTs));
    } catch (err) {
      this.fail(err);
    }
    // Accelerated, but never before the wall clock reaches the next sample's time: no sample from the future.
    const dueReal = Math.max(this.startReal + (this.n * this.intervalMs()) / this.timing.speed, this.startSim + this.n * this.intervalMs());
    this.timer = setTimeout(() => this.tick(), Math.max(0, dueReal - this.timing.clock()));
  }

  private publish(step: ModelStep<DeviceType>): void {
    if (step.silent) return;
    if (this.session.inFlight >= this.maxInFlight) {
      this.counters.dropped++;
      return;
    }
    for (const event of step.events) this.track(this.session.publishEvent(event.type, event.detail, event.ts));
    this.track(this.session.publishTelemetry([step.sample]));
  }

  private track(sent: Promise<unknown>): void {
    sent.then(
      () => {
        this.counters.published++;
      },
      (err: unknown) => {
        // Messages cut off by our own stop are expected, not errors.
        if (this.stopping && isEdgeAgentError(err, 'EDGE_ERR_STOPPED')) return;
        this.fail(err);
      },
    );
  }

  private fail(err: unknown): void {
    this.counters.errors++;
    this.errorCount++;
    if (this.errorCount <= LOUD_ERRORS || this.errorCount % 100 === 0) {
      const details = isEdgeAgentError(err) ? err.details : [];
      this.logger.error({ deviceId: this.session.deviceId, err: (err as Error).message, details, count: this.errorCount }, 'simulated device: publish failed');
    }
  }
}
