import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { DeviceSession, MemoryIdentityStore, silentLogger, type IdentityStore, type Logger } from '@tsunagaru/edge-agent';
import { createModel } from './create-model.js';
import type { FleetDeviceSpec, FleetSpec } from './fleet-spec.js';
import { SimulatedDevice, type FleetCounters, type Timing } from './simulated-device.js';
import { SimulatorError } from './errors.js';

export interface StartFleetOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  devices: FleetSpec;
  /** deviceId → secret, as issued at provisioning. Every device in `devices` needs one. */
  secrets: Readonly<Record<string, string>>;
  /** Wall clock, epoch ms. Default `Date.now`. */
  clock?: () => number;
  /** Time acceleration: simulated seconds per real second. Default 1. At 60, a 15-minute meter reports every 15 s. */
  speed?: number;
  /**
   * Simulated time at start, epoch ms. Default: now at speed 1; accelerated, a day ago. Simulated time never
   * passes the wall clock: accelerated, it catches up (after 24 h / speed by default) and then runs in real
   * time, because the ingest refuses samples stamped in the future (a wrong device clock).
   */
  startTs?: number;
  /** PRNG seed; each device derives its own from it and its id. Default 1. */
  seed?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Identity store per device. Default: in memory, first boot = wall-clock epoch seconds, so a rerun never repeats a boot. */
  identity?: (spec: FleetDeviceSpec) => IdentityStore;
  /** Check every message against the contract before sending. Default true: a simulator bug fails at its source. */
  validateOutgoing?: boolean;
  /** Devices connecting at the same time. Default 16. */
  connectConcurrency?: number;
  /** Per device: unacknowledged messages before new samples are dropped (counted in `dropped`). Default 100. */
  maxInFlight?: number;
  /** Per device: how long to keep trying the first connection, ms. Default 30000. */
  startTimeoutMs?: number;
}

export interface FleetStats {
  devices: number;
  /** Devices with a live broker connection now. */
  connected: number;
  /** Messages acknowledged by the broker. */
  published: number;
  /** Failed starts, failed publishes and session errors. */
  errors: number;
  dropped: number;
  /** Simulated time now, epoch ms. */
  simTs: number;
}

export interface Fleet {
  stats(): FleetStats;
  /** Devices that could not start, with the reason. */
  failures(): ReadonlyArray<{ deviceId: string; error: Error }>;
  /** Graceful by default: each device publishes its death and disconnects. */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

export class FleetConfigError extends SimulatorError {
  override readonly name: string = 'FleetConfigError';
  constructor(message: string) {
    super('SIM_ERR_FLEET_CONFIG', message);
  }
}

const SIM_MODEL: Record<DeviceType, string> = {
  'smart-pole': 'sim-smart-pole',
  'water-meter': 'sim-water-meter',
  'bs-power': 'sim-bs-power',
  'ring-node': 'sim-ring-node',
};

/** Checked once before any connection: ids unique and each device has a secret. */
function checkFleet(o: StartFleetOptions): void {
  if (!Number.isFinite(o.speed ?? 1) || (o.speed ?? 1) <= 0) throw new FleetConfigError(`speed: must be a positive number, got ${String(o.speed)}`);
  const seen = new Set<string>();
  const dupes = o.devices.filter((d) => seen.size === seen.add(d.id).size).map((d) => d.id);
  if (dupes.length > 0) throw new FleetConfigError(`devices: duplicate ids ${dupes.join(', ')}`);
  const missing = o.devices.filter((d) => typeof o.secrets[d.id] !== 'string' || o.secrets[d.id] === '').map((d) => d.id);
  if (missing.length > 0) throw new FleetConfigError(`secrets: no secret for ${missing.join(', ')}; provision these devices and pass their secrets`);
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Where an accelerated fleet starts by default: a day back, so it has a day to run fast before it meets now. */
const ACCELERATED_START_BACK_MS = 24 * 3_600_000;

/** The default simulated start (see StartFleetOptions.startTs); also what fleet models should start from. */
export function defaultStartTs(speed: number, now: number): number {
  return speed > 1 ? now - ACCELERATED_START_BACK_MS : now;
}

/**
 * Starts a DeviceSession per device and publishes a sample every `sampleSec` of simulated time.
 * Resolves once every device has connected or failed; rejects only if none could start.
 */
export async function startFleet(options: StartFleetOptions): Promise<Fleet> {
  checkFleet(options);
  const clock = options.clock ?? Date.now;
  const speed = options.speed ?? 1;
  const logger = options.logger ?? silentLogger;
  const realStart = clock();
  const simStart = options.startTs ?? defaultStartTs(speed, realStart);
  const timing: Timing = { clock, speed, simNow: () => Math.min(simStart + (clock() - realStart) * speed, clock()) };
  const counters: FleetCounters = { published: 0, errors: 0, dropped: 0 };
  const firstBoot = Math.floor(realStart / 1000);
  const identity = options.identity ?? (() => new MemoryIdentityStore({ firstBoot }));

  // Build everything first, so a bad spec fails before a single connection is opened.
  const devices = options.devices.map((spec) => {
    const session = new DeviceSession<DeviceType>({
      url: options.url,
      deviceId: spec.id,
      type: spec.type,
      secret: options.secrets[spec.id] ?? '',
      fw: spec.fw ?? 'sim-1.0.0',
      model: spec.model ?? SIM_MODEL[spec.type],
      sampleSec: spec.sampleSec,
      identity: identity(spec),
      clock: timing.simNow,
      logger,
      validateOutgoing: options.validateOutgoing ?? true,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });
    session.onEvent((e) => {
      if (e.kind === 'error') counters.errors++;
    });
    const model = createModel(spec, options.seed ?? 1);
    return new SimulatedDevice(session, model, spec.sampleSec, timing, counters, options.maxInFlight ?? 100, logger);
  });

  const failures: { deviceId: string; error: Error }[] = [];
  const started: SimulatedDevice[] = [];
  await forEachLimited(devices, options.connectConcurrency ?? 16, async (device) => {
    try {
      await device.session.start();
      device.begin();
      started.push(device);
    } catch (err) {
      counters.errors++;
      failures.push({ deviceId: device.session.deviceId, error: err as Error });
      logger.error({ deviceId: device.session.deviceId, err: (err as Error).message }, 'simulated device could not start');
    }
  });
  const first = failures[0];
  if (started.length === 0 && first) throw first.error;
  logger.info({ devices: devices.length, started: started.length, speed }, 'fleet started');

  let stopped: Promise<void> | undefined;
  return {
    stats: () => ({
      devices: devices.length,
      connected: devices.filter((d) => d.session.connected).length,
      published: counters.published,
      errors: counters.errors,
      dropped: counters.dropped,
      simTs: timing.simNow(),
    }),
    failures: () => [...failures],
    stop(stopOptions = {}) {
      stopped ??= (async () => {
        for (const d of started) d.halt();
        await Promise.all(started.map((d) => d.session.stop(stopOptions).catch((err: unknown) => logger.warn({ deviceId: d.session.deviceId, err: (err as Error).message }, 'stop failed'))));
        logger.info({ published: counters.published, errors: counters.errors }, 'fleet stopped');
      })();
      return stopped;
    },
  };
}
