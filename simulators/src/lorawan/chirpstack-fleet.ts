/**
 * A fleet of LoRaWAN water meters as ChirpStack v4 reports them over its MQTT integration: each meter
 * joins (OTAA), then sends an uplink every `sampleSec` with its frame counter (fCnt) counting from 0; its
 * codec's decoded `object` carries the register (volumeL), flow and battery of a WaterMeterModel.
 *
 * Radio reality, with the ground truth returned so tests can hold the ingest to it:
 * - `lossRate`: a frame lost on the air (no gateway heard it): its fCnt is used, nothing is published;
 * - `rejoinEvery`: the meter rejoins after that many frames (a reset, a new battery): fCnt restarts at 0;
 * - `lateBatch`: a gateway cut off from the network server forwards frames [from, to) of each session only
 *   after the rest, with their original time (ChirpStack publishes them late);
 * - `statusEvery`: ChirpStack's DevStatusReq answers (battery %, link margin);
 * - downlinks on `command/down` are answered like ChirpStack does: `txack`, then (confirmed) `ack`.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { deriveSeed, Rng } from '../rng.js';
import { WaterMeterModel } from '../water-meter.js';
import { ackEvent, joinEvent, seededUuid, statusEvent, txAckEvent, upEvent, type LoraDeviceInfo, type Reception } from './chirpstack-events.js';

export interface LoraMeterSpec {
  devEui: string;
  deviceName: string;
}

export interface ChirpStackFleetOptions {
  /** The broker ChirpStack's MQTT integration publishes to (ChirpStack's mosquitto, or ours as an integration principal). */
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  applicationId: string;
  applicationName?: string;
  deviceProfileName?: string;
  meters: readonly LoraMeterSpec[];
  /** Frames each meter sends (fCnt values used, lost ones included). */
  frames: number;
  sampleSec?: number;
  /** Time of the first frame; default: `frames` intervals ago, so no frame is stamped in the future. */
  startTs?: number;
  seed?: number;
  lossRate?: number;
  /** Rejoin after this many frames (0: never). */
  rejoinEvery?: number;
  /** Frames [from, to) of each session are published after all the others. */
  lateBatch?: { from: number; to: number };
  /** A status event every this many frames (0: never). */
  statusEvery?: number;
  /** Answer downlinks with txack and ack events. Default true. */
  answerDownlinks?: boolean;
}

export interface SessionTruth {
  /** 0 for the first join, +1 per rejoin: what the ingest should number the boots. */
  session: number;
  joinedAt: number;
  /** fCnt values sent (published or lost). */
  sent: number;
  lost: number[];
  /** Lost frames below the highest frame that arrived: the gaps the ledger must show for this boot. */
  expectedMissing: number;
  late: number[];
}

export interface MeterTruth {
  devEui: string;
  sessions: SessionTruth[];
  published: number;
  /** The last register value the meter reported, litres. */
  lastIndexL: number;
}

export interface ChirpStackFleetRun {
  truth: MeterTruth[];
  /** Downlinks received on command/down, per devEui. */
  downlinks: Map<string, Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

const GATEWAYS = ['0016c001f153a14c', '0016c001f153a14d', '0016c001f153a14e'];

interface Pending {
  topic: string;
  payload: string;
}

export async function runChirpStackFleet(o: ChirpStackFleetOptions): Promise<ChirpStackFleetRun> {
  const sampleSec = o.sampleSec ?? 900;
  const startTs = o.startTs ?? Date.now() - (o.frames + 2) * sampleSec * 1000;
  const seed = o.seed ?? 1;
  const profile = o.deviceProfileName ?? 'water-meter-index';
  const client: MqttClient = await connectAsync(o.url, { ...(o.username ? { username: o.username, password: o.password ?? '' } : {}), clientId: o.clientId ?? (o.username ? `${o.username}:sim-${process.pid}` : `chirpstack-sim-${process.pid}`), clean: true, reconnectPeriod: 0, protocolVersion: 4 });
  const infos = new Map<string, LoraDeviceInfo>();
  const downlinks = new Map<string, Array<Record<string, unknown>>>();
  const rng = new Rng(deriveSeed(seed, 'chirpstack-fleet'));
  const topic = (devEui: string, event: string) => `application/${o.applicationId}/device/${devEui}/event/${event}`;
  const publish = (t: string, payload: unknown) => client.publishAsync(t, JSON.stringify(payload), { qos: 1 });

  for (const m of o.meters) {
    infos.set(m.devEui.toLowerCase(), {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
      tenantName: 'Tokyo Waterworks',
      applicationId: o.applicationId,
      applicationName: o.applicationName ?? 'Water meters',
      deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
      deviceProfileName: profile,
      deviceName: m.deviceName,
      devEui: m.devEui.toLowerCase(),
    });
  }

  if (o.answerDownlinks ?? true) {
    await client.subscribeAsync(`application/${o.applicationId}/device/+/command/down`, { qos: 1 });
    let fCntDown = 0;
    client.on('message', (t, payload) => {
      const devEui = t.split('/')[3]!.toLowerCase();
      const info = infos.get(devEui);
      let cmd: Record<string, unknown>;
      try {
        cmd = JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      (downlinks.get(devEui) ?? downlinks.set(devEui, []).get(devEui)!).push(cmd);
      if (!info || typeof cmd.id !== 'string') return;
      fCntDown++;
      const now = Date.now();
      void publish(topic(devEui, 'txack'), txAckEvent({ downlinkId: fCntDown, time: now, deviceInfo: info, queueItemId: cmd.id, fCntDown, gatewayId: GATEWAYS[0]! }));
      if (cmd.confirmed === true) void publish(topic(devEui, 'ack'), ackEvent({ deduplicationId: seededUuid(rng), time: now, deviceInfo: info, queueItemId: cmd.id, acknowledged: true, fCntDown }));
    });
  }

  const truth: MeterTruth[] = [];
  const late: Pending[] = [];
  for (const m of o.meters) {
    const devEui = m.devEui.toLowerCase();
    const info = infos.get(devEui)!;
    const mrng = new Rng(deriveSeed(seed, devEui));
    const model = new WaterMeterModel({ seed: deriveSeed(seed, `model:${devEui}`), sampleSec });
    const t: MeterTruth = { devEui, sessions: [], published: 0, lastIndexL: 0 };
    let fCnt = 0;
    let session: SessionTruth | undefined;
    let maxDelivered = -1;
    const closeSession = () => {
      if (session) session.expectedMissing = session.lost.filter((f) => f < maxDelivered).length;
    };
    const devAddr = devEui.slice(-8);
    for (let i = 0; i < o.frames; i++) {
      const ts = startTs + i * sampleSec * 1000;
      if (!session || (o.rejoinEvery && fCnt >= o.rejoinEvery)) {
        closeSession();
        session = { session: t.sessions.length, joinedAt: ts - 1000, sent: 0, lost: [], expectedMissing: 0, late: [] };
        t.sessions.push(session);
        fCnt = 0;
        maxDelivered = -1;
        await publish(topic(devEui, 'join'), joinEvent({ deduplicationId: seededUuid(rng), time: session.joinedAt, deviceInfo: info, devAddr }));
        t.published++;
      }
      const step = model.step(ts);
      const sample = step.sample;
      t.lastIndexL = sample.indexL;
      const object = { volumeL: sample.indexL, ...(sample.flowLph !== undefined ? { flowLph: sample.flowLph } : {}), ...(sample.batteryPct !== undefined ? { batteryPct: sample.batteryPct } : {}) };
      const data = Buffer.alloc(9);
      data.writeUInt32BE(Math.min(sample.indexL, 0xffffffff));
      data.writeUInt16BE(Math.min(Math.round(Math.abs(sample.flowLph ?? 0)), 0xffff), 4);
      data.writeUInt16BE(Math.round((sample.batteryPct ?? 0) * 10), 6);
      const lost = mrng.uniform() < (o.lossRate ?? 0);
      session.sent++;
      if (lost) session.lost.push(fCnt);
      else {
        const rx: Reception[] = GATEWAYS.slice(0, 1 + Math.floor(mrng.uniform() * GATEWAYS.length)).map((g) => ({ gatewayId: g, rssi: Math.round(-80 - mrng.uniform() * 40), snr: Math.round((10 - mrng.uniform() * 18) * 4) / 4 }));
        const ev = upEvent({ deduplicationId: seededUuid(rng), time: ts, deviceInfo: info, devAddr, dr: 2, fCnt, fPort: 1, data, object, rx, frequency: 923200000 + 200000 * (fCnt % 8) });
        const isLate = o.lateBatch !== undefined && fCnt >= o.lateBatch.from && fCnt < o.lateBatch.to;
        if (isLate) {
          session.late.push(fCnt);
          late.push({ topic: topic(devEui, 'up'), payload: JSON.stringify(ev) });
        } else await publish(topic(devEui, 'up'), ev);
        t.published++;
        maxDelivered = Math.max(maxDelivered, fCnt);
      }
      if (o.statusEvery && (i + 1) % o.statusEvery === 0) {
        await publish(topic(devEui, 'status'), statusEvent({ deduplicationId: seededUuid(rng), time: ts + 500, deviceInfo: info, margin: Math.round(5 + mrng.uniform() * 15), batteryLevel: sample.batteryPct ?? 0 }));
        t.published++;
      }
      fCnt++;
    }
    closeSession();
    truth.push(t);
  }
  // The late batch: what the cut-off gateway forwarded once it was back.
  for (const p of late) await client.publishAsync(p.topic, p.payload, { qos: 1 });
  return {
    truth,
    downlinks,
    close: async () => {
      await client.endAsync();
    },
  };
}
