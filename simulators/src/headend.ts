import { connectAsync, type MqttClient } from 'mqtt';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { deriveSeed } from './rng.js';
import { WaterMeterModel, type WaterMeterOptions } from './water-meter.js';
import { SimulatorError } from './errors.js';

/**
 * LPWA head-end gateways (wM-Bus/Wi-SUN/NB-IoT head-end systems): meters have no IP session of their
 * own; the head-end collects their readings and publishes each under the meter's own topic prefix
 * (broker ACL: attribute `headEnd` names the gateway). One MQTT connection carries thousands of meters.
 */
export interface HeadEndSpec {
  /** Gateway device id (provisioned with a secret; it logs in). */
  id: string;
  dma: string;
  meters: string[];
}

/** Deterministic layout: `meters` split over `gateways` head-ends, one DMA per head-end. */
export function headEndLayout(meters: number, gateways: number): HeadEndSpec[] {
  const per = Math.ceil(meters / gateways);
  const out: HeadEndSpec[] = [];
  for (let g = 0; g < gateways && g * per < meters; g++) {
    const tag = String(g + 1).padStart(3, '0');
    const count = Math.min(per, meters - g * per);
    out.push({ id: `hes-${tag}`, dma: `dma-${tag}`, meters: Array.from({ length: count }, (_, i) => `wm-${tag}-${String(i + 1).padStart(5, '0')}`) });
  }
  return out;
}

export interface HeadEndStats {
  gateways: number;
  connected: number;
  meters: number;
  /** Readings (telemetry messages) acknowledged by the broker; relayed meter events are not counted. */
  published: number;
  errors: number;
  cycles: number;
}

export interface RunHeadEndsOptions {
  url: string;
  layout: readonly HeadEndSpec[];
  /** gateway id → secret. */
  secrets: Readonly<Record<string, string>>;
  /** Reading cycles (every meter once per cycle). Default 1. */
  cycles?: number;
  /** Simulated seconds between cycles (meters read every 15 min). Default 900. */
  sampleSec?: number;
  /** Time acceleration between cycles; Infinity: next cycle as soon as the last is acknowledged. Default Infinity. */
  speed?: number;
  /**
   * Simulated time of the first cycle. Default: `cycles` intervals ago, so the last cycle ends now. A cycle
   * goes out only once its interval is over on the wall clock (as a head-end uploads what it collected):
   * no reading is ever stamped in the future, which the ingest would dead-letter (a wrong device clock).
   */
  startTs?: number;
  seed?: number;
  /** Unacknowledged publishes per gateway connection. Default 256. */
  window?: number;
  /** Per-meter model options (faults, residents); default none. */
  simulation?: (meterId: string) => WaterMeterOptions | undefined;
}

export interface HeadEndRun {
  stats(): HeadEndStats;
  /** Resolves when every cycle is acknowledged. */
  done: Promise<HeadEndStats>;
  stop(): Promise<void>;
}

export async function runHeadEnds(o: RunHeadEndsOptions): Promise<HeadEndRun> {
  const seed = o.seed ?? 1;
  const sampleMs = (o.sampleSec ?? 900) * 1000;
  const start = o.startTs ?? Date.now() - (o.cycles ?? 1) * sampleMs;
  const speed = o.speed ?? Infinity;
  const window = o.window ?? 256;
  const stats: HeadEndStats = { gateways: o.layout.length, connected: 0, meters: o.layout.reduce((n, g) => n + g.meters.length, 0), published: 0, errors: 0, cycles: 0 };
  const clients: MqttClient[] = [];
  let stopped = false;
  const wallStart = Date.now();

  const connectOne = async (g: HeadEndSpec): Promise<MqttClient> => {
    const secret = o.secrets[g.id];
    if (!secret) throw new SimulatorError('SIM_ERR_CREDENTIALS', `credentials: no secret for gateway ${g.id}`);
    const client = await connectAsync(o.url, { username: g.id, password: secret, clientId: g.id, clean: true, reconnectPeriod: 1000, connectTimeout: 30_000 });
    client.on('connect', () => void stats.connected++);
    client.on('close', () => void (stats.connected = Math.max(0, stats.connected - 1)));
    stats.connected++;
    return client;
  };
  for (let i = 0; i < o.layout.length; i += 8) clients.push(...(await Promise.all(o.layout.slice(i, i + 8).map(connectOne))));

  const driveGateway = async (g: HeadEndSpec, client: MqttClient): Promise<void> => {
    // Models are created lazily and kept: each meter's register continues from cycle to cycle.
    const models = new Map<string, WaterMeterModel>();
    const seqs = new Map<string, number>();
    for (let cycle = 0; cycle < (o.cycles ?? 1) && !stopped; cycle++) {
      const due = Math.max(Number.isFinite(speed) ? wallStart + (cycle * sampleMs) / speed : 0, start + (cycle + 1) * sampleMs);
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      // Meters of one head-end report spread over the interval (their own radio schedules), in order here.
      const inFlight = new Set<Promise<void>>();
      for (const [i, meter] of g.meters.entries()) {
        if (stopped) break;
        let model = models.get(meter);
        if (!model) models.set(meter, (model = new WaterMeterModel({ ...o.simulation?.(meter), seed: deriveSeed(seed, meter), sampleSec: sampleMs / 1000 })));
        const ts = start + cycle * sampleMs + Math.floor((i * sampleMs) / g.meters.length / 1000) * 1000;
        const { sample, events, silent } = model.step(ts);
        if (silent) continue;
        const nextSeq = () => {
          const seq = seqs.get(meter) ?? 0;
          seqs.set(meter, seq + 1);
          return seq;
        };
        const send = (channel: 'telemetry' | 'event', body: object, counts: boolean) => {
          const p: Promise<void> = client.publishAsync(buildTopic('water-meter', meter, channel), JSON.stringify(body), { qos: 1 }).then(
            () => void (counts && stats.published++),
            () => void stats.errors++,
          );
          const tracked = p.finally(() => inFlight.delete(tracked));
          inFlight.add(tracked);
        };
        // The meter's own events (burst, tamper, backflow, low battery) go first, as the head-end relays them.
        for (const e of events) send('event', { v: 1, id: meter, boot: 1, seq: nextSeq(), ts: e.ts, type: e.type, ...(e.detail ? { detail: e.detail } : {}) }, false);
        send('telemetry', { v: 1, id: meter, boot: 1, seq: nextSeq(), ts, samples: [sample] }, true);
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }
  };
  const done = Promise.all(o.layout.map((g, i) => driveGateway(g, clients[i]!))).then(() => {
    stats.cycles = o.cycles ?? 1;
    return { ...stats };
  });
  return {
    stats: () => ({ ...stats }),
    done,
    stop: async () => {
      stopped = true;
      await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
    },
  };
}
