import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { DeviceSession, MemoryIdentityStore, silentLogger, type Logger } from '@tsunagaru/edge-agent';
import { createModel } from '../create-model.js';
import type { DeviceModel } from '../model.js';
import type { FleetDeviceSpec } from '../fleet-spec.js';
import { unreachableAt, type CompiledScenario } from './compile.js';
import { groundTruth, type GroundTruth, type RecordedEvent } from './truth.js';
import { SimulatorError } from '../errors.js';

export interface RunScenarioOptions {
  url: string;
  compiled: CompiledScenario;
  /** deviceId → secret from provisioning, for every device of the compiled scenario. */
  secrets: Readonly<Record<string, string>>;
  /** Simulated seconds per real second; `Infinity`: as fast as the broker acknowledges. Default Infinity. */
  speed?: number;
  seed?: number;
  logger?: Logger;
  /** Called with the simulated time before each step is published (e.g. to move a test's clock). */
  beforeStep?: (ts: number) => void | Promise<void>;
  /** Called after every message of the step was acknowledged (e.g. to wait for the ingest). */
  afterStep?: (ts: number, progress: Readonly<ScenarioProgress>) => void | Promise<void>;
  /** Called about once a second (wall clock) with the progress so far. */
  onProgress?: (p: ScenarioProgress) => void;
}

export interface ScenarioProgress {
  simTs: number;
  steps: number;
  published: number;
  errors: number;
  connected: number;
  devices: number;
}

export interface ScenarioRun {
  truth: GroundTruth;
  progress: ScenarioProgress;
  /** Graceful by default: each device publishes its death. */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

interface Driven {
  spec: FleetDeviceSpec;
  session: DeviceSession<DeviceType>;
  model: DeviceModel<DeviceType>;
  sampleMs: number;
  /** What it measured while it could not be heard, sent as replay once it can. */
  buffered: { samples: unknown[]; events: Array<{ type: string; ts: number; detail?: Record<string, unknown> }> };
}

/**
 * Models are stepped every minute, so events (mains lost at 03:07, a cable cut at 02:11) are published
 * when they happen, not at the next sample; samples go out at each device's own interval.
 */
export const EVENT_STEP_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a compiled scenario over MQTT on a simulated clock from t0 to its end: at each step every device
 * that is due publishes its events and its sample, and the step waits for every acknowledgement, so
 * the run is deterministic for a seed whatever the speed. Returns once the end is reached, sessions open.
 */
export async function runScenario(o: RunScenarioOptions): Promise<ScenarioRun> {
  const { compiled } = o;
  const seed = o.seed ?? 1;
  const speed = o.speed ?? Infinity;
  const logger = o.logger ?? silentLogger;
  let simTs = compiled.runFrom;
  const progress: ScenarioProgress = { simTs, steps: 0, published: 0, errors: 0, connected: 0, devices: compiled.devices.length };
  const missing = compiled.devices.filter((d) => !o.secrets[d.id]).map((d) => d.id);
  if (missing.length > 0) throw new SimulatorError('SIM_ERR_CREDENTIALS', `secrets: none for ${missing.join(', ')}; provision them first`);

  const firstBoot = Math.floor(Date.now() / 1000);
  const driven: Driven[] = compiled.devices.map((spec) => ({
    spec,
    session: new DeviceSession<DeviceType>({
      url: o.url, deviceId: spec.id, type: spec.type, secret: o.secrets[spec.id]!, fw: 'sim-1.0.0', model: `sim-${spec.type}`,
      sampleSec: spec.sampleSec, identity: new MemoryIdentityStore({ firstBoot }), clock: () => simTs, logger, validateOutgoing: true,
    }),
    model: createModel(spec, seed),
    sampleMs: spec.sampleSec * 1000,
    buffered: { samples: [], events: [] },
  }));
  for (let i = 0; i < driven.length; i += 16) await Promise.all(driven.slice(i, i + 16).map((d) => d.session.start()));

  const events: RecordedEvent[] = [];
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const stepMs = driven.map((d) => d.sampleMs).reduce(gcd, EVENT_STEP_MS);
  const wallStart = Date.now();
  let lastProgress = wallStart;
  const sent = (p: Promise<unknown>) =>
    p.then(
      () => void progress.published++,
      (err: unknown) => {
        progress.errors++;
        logger.error({ err: (err as Error).message }, 'scenario publish failed');
      },
    );
  const publishReplay = (d: Driven, pending: Promise<unknown>[]) => {
    const session = d.session as DeviceSession<DeviceType>;
    for (const e of d.buffered.events) pending.push(sent(session.publishEvent(e.type as never, e.detail, e.ts, { replay: true })));
    for (let i = 0; i < d.buffered.samples.length; i += 1000) pending.push(sent(session.publishTelemetry(d.buffered.samples.slice(i, i + 1000) as never, { replay: true })));
    d.buffered = { samples: [], events: [] };
  };
  for (let ts = compiled.runFrom; ts <= compiled.endTs; ts += stepMs) {
    simTs = ts;
    await o.beforeStep?.(ts);
    const pending: Promise<unknown>[] = [];
    for (const d of driven) {
      const step = d.model.step(ts);
      if (step.silent) continue;
      const due = (ts - compiled.runFrom) % d.sampleMs === 0;
      const heard = !unreachableAt(compiled, d.spec, ts);
      if (heard && (d.buffered.samples.length > 0 || d.buffered.events.length > 0)) publishReplay(d, pending);
      for (const e of step.events) {
        events.push({ deviceId: d.session.deviceId, type: e.type, ts: e.ts, published: heard, ...(e.detail ? { detail: e.detail } : {}) });
        if (heard) pending.push(sent(d.session.publishEvent(e.type, e.detail, e.ts)));
        else d.buffered.events.push({ type: e.type, ts: e.ts, ...(e.detail ? { detail: e.detail } : {}) });
      }
      if (!due) continue;
      if (heard) {
        pending.push(sent(d.session.publishTelemetry([step.sample])));
        // What a live sample tells of the plant's state (e.g. mains back, seen once it can be heard again).
        if (d.spec.type === 'bs-power') {
          const { mains, backhaul } = step.sample as { mains?: string; backhaul?: string };
          events.push({ deviceId: d.session.deviceId, type: 'sample', ts, published: true, detail: { mains, backhaul } });
        }
      } else d.buffered.samples.push(step.sample);
    }
    await Promise.all(pending);
    if (pending.length > 0) progress.steps++;
    progress.simTs = ts;
    await o.afterStep?.(ts, progress);
    if (Number.isFinite(speed)) {
      const due = wallStart + (ts + stepMs - compiled.runFrom) / speed;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    if (o.onProgress && Date.now() - lastProgress >= 1000) {
      lastProgress = Date.now();
      o.onProgress({ ...progress, connected: driven.filter((d) => d.session.connected).length });
    }
  }
  progress.connected = driven.filter((d) => d.session.connected).length;
  return {
    truth: groundTruth(compiled, seed, events, stepMs),
    progress,
    stop: async (options = {}) => {
      await Promise.all(driven.map((d) => d.session.stop(options).catch(() => undefined)));
    },
  };
}
