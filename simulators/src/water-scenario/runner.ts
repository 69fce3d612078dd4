/**
 * Drives a compiled water scenario over MQTT on a simulated clock: every meter is read at its own
 * interval; live meters publish each reading, LoRaWAN meters keep theirs and deliver them 15 at a time
 * (every ~5 h, staggered), a meter whose battery died stays silent. Each step waits for every PUBACK.
 */
import { DeviceSession, MemoryIdentityStore, silentLogger, type Logger } from '@tsunagaru/edge-agent';
import type { WaterMeterSample } from '@tsunagaru/firmware-contracts';
import { createModel } from '../create-model.js';
import type { DeviceModel } from '../model.js';
import type { CompiledWaterScenario, WaterDevice } from './compile.js';

export interface WaterRunOptions {
  url: string;
  compiled: CompiledWaterScenario;
  secrets: Readonly<Record<string, string>>;
  seed: number;
  logger?: Logger;
  beforeStep?: (ts: number) => void | Promise<void>;
  afterStep?: (ts: number, published: number) => void | Promise<void>;
}

/** The grid every interval of the scenario is a multiple of (15 min, 1 h, 20 min). */
export const WATER_STEP_MS = 5 * 60_000;

interface Driven {
  device: WaterDevice;
  session: DeviceSession<'water-meter'>;
  model: DeviceModel<'water-meter'>;
  held: WaterMeterSample[];
  /** Readings the next delivery waits for. */
  due: number;
  dead: boolean;
}

export async function runWaterScenario(o: WaterRunOptions): Promise<{ published: number; stop(): Promise<void> }> {
  const c = o.compiled;
  let simTs = c.t0;
  const firstBoot = Math.floor(Date.now() / 1000);
  const driven: Driven[] = c.devices.map((device) => ({
    device,
    session: new DeviceSession<'water-meter'>({
      url: o.url, deviceId: device.spec.id, type: 'water-meter', secret: o.secrets[device.spec.id]!, fw: 'sim-1.0.0', model: device.reading === 'batch' ? 'sim-lorawan-meter' : 'sim-water-meter',
      sampleSec: device.reading === 'batch' ? device.spec.sampleSec * c.batchSize : device.spec.sampleSec, identity: new MemoryIdentityStore({ firstBoot }), clock: () => simTs, logger: o.logger ?? silentLogger, validateOutgoing: true,
    }),
    model: createModel(device.spec, o.seed) as DeviceModel<'water-meter'>,
    held: [],
    due: device.firstBatch ?? c.batchSize,
    dead: false,
  }));
  for (let i = 0; i < driven.length; i += 16) await Promise.all(driven.slice(i, i + 16).map((d) => d.session.start()));
  let published = 0;
  for (let ts = c.t0; ts <= c.runUntil; ts += WATER_STEP_MS) {
    simTs = ts;
    await o.beforeStep?.(ts);
    const pending: Array<Promise<unknown>> = [];
    for (const d of driven) {
      if (d.dead || (ts - c.t0) % (d.device.spec.sampleSec * 1000) !== 0) continue;
      const step = d.model.step(ts);
      if (step.silent) {
        d.dead = true;
        continue;
      }
      if (d.device.reading === 'live') pending.push(d.session.publishTelemetry([step.sample]).then(() => published++));
      else {
        d.held.push(step.sample);
        if (d.held.length >= d.due) {
          pending.push(d.session.publishTelemetry(d.held).then(() => published++));
          d.held = [];
          d.due = c.batchSize;
        }
      }
    }
    await Promise.all(pending);
    await o.afterStep?.(ts, published);
  }
  return { published, stop: async () => void (await Promise.all(driven.map((d) => d.session.stop({ graceful: false }).catch(() => undefined)))) };
}
