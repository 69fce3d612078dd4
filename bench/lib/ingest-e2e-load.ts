/**
 * The publishers of the ingest-e2e suite, the same for every system under test: water meters publishing
 * contract Telemetry at QoS 1, each device keeping a window of messages in flight. Payloads are built before
 * the clock starts, so the load generator spends its CPU on MQTT only while a system is measured.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { buildTopic } from '@tsunagaru/firmware-contracts';

/** The readings of each generated sample (contract v1 water-meter); `ts` is the sample's time, not a reading. */
export const METER_READINGS = ['indexL', 'flowLph', 'batteryPct'] as const;

export interface Shape {
  /** `live`: one sample per message as a meter sends it; `replay`: an edge's buffered samples after an outage. */
  key: 'live' | 'replay';
  samplesPerMessage: number;
  messages: number;
}

export interface Device {
  id: string;
  secret: string;
}

export interface PreparedLoad {
  topicOf: Map<string, string>;
  /** Per device, its payloads in seq order. */
  payloads: Map<string, Buffer[]>;
  messages: number;
  readings: number;
}

/** Builds every payload: seq 0.. per device (boot 1), sample times 1 s apart and distinct per device. */
export function prepareLoad(devices: readonly Device[], shape: Shape, t0: number): PreparedLoad {
  const perDevice = Math.ceil(shape.messages / devices.length);
  const S = shape.samplesPerMessage;
  const topicOf = new Map<string, string>();
  const payloads = new Map<string, Buffer[]>();
  for (const d of devices) {
    topicOf.set(d.id, buildTopic('water-meter', d.id, 'telemetry'));
    const list: Buffer[] = [];
    for (let seq = 0; seq < perDevice; seq++) {
      const samples = Array.from({ length: S }, (_, k) => {
        const i = seq * S + k;
        return { ts: t0 + i * 1000, indexL: 1_000_000 + i, flowLph: (i % 97) + 0.5, batteryPct: 87 };
      });
      const msg = { v: 1, id: d.id, boot: 1, seq, ts: samples[0]!.ts, ...(shape.key === 'replay' ? { replay: true } : {}), samples };
      list.push(Buffer.from(JSON.stringify(msg)));
    }
    payloads.set(d.id, list);
  }
  const messages = perDevice * devices.length;
  return { topicOf, payloads, messages, readings: messages * S * METER_READINGS.length };
}

/** One login at a time: our broker throttles concurrent logins from one address (scrypt). */
export async function connectDevices(url: string, devices: readonly Device[]): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (const d of devices) clients.push(await mqtt.connectAsync(url, { protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 }));
  return clients;
}

/** Publishes every prepared payload, `window` unacknowledged per device; resolves when the broker acked all. */
export async function publishLoad(clients: readonly MqttClient[], devices: readonly Device[], load: PreparedLoad, window: number): Promise<void> {
  await Promise.all(
    clients.map(
      (client, i) =>
        new Promise<void>((resolve, reject) => {
          const id = devices[i]!.id;
          const topic = load.topicOf.get(id)!;
          const list = load.payloads.get(id)!;
          let next = 0;
          let acked = 0;
          const send = () => {
            const payload = list[next++]!;
            client.publish(topic, payload, { qos: 1 }, (err) => {
              if (err) return reject(err);
              if (++acked === list.length) return resolve();
              if (next < list.length) send();
            });
          };
          for (let k = 0; k < Math.min(window, list.length); k++) send();
        }),
    ),
  );
}

export async function closeClients(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
}
