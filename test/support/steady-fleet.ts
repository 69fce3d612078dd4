/**
 * Devices that publish numbered telemetry at a steady rate over real MQTT (QoS 1, persistent sessions,
 * automatic reconnect), for fault tests: every message has a known (id, boot, seq) and readings, so the
 * test can check afterwards that each one is stored exactly once and the ledger has no gaps. A message
 * counts as sent once its PUBACK arrived; MQTT.js resends unacknowledged ones after a reconnect.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { buildTopic } from '@tsunagaru/firmware-contracts';

export interface SteadyDevice {
  id: string;
  secret: string;
}

export interface SteadyFleetOptions {
  url: string;
  devices: SteadyDevice[];
  messagesPerDevice: number;
  /** Per device, between messages. */
  intervalMs: number;
  boot?: number;
  /** Timestamp of seq 0; seq n is at t0 + n s. */
  t0: number;
  /** Told of each PUBACK: which (device, seq) the broker said is safe. */
  onAck?: (deviceId: string, seq: number) => void;
}

export interface SteadyFleet {
  /** PUBACKs received (all devices). */
  acked(): number;
  /** Messages handed to MQTT.js (all devices). */
  published(): number;
  reconnects(): number;
  /** Resolves when every message of every device is acknowledged. */
  done: Promise<void>;
  close(): Promise<void>;
}

/** indexL of (seq): what the store must hold for each message. */
export const indexLOf = (seq: number) => 1_000_000 + seq * 7;

export async function startSteadyFleet(o: SteadyFleetOptions): Promise<SteadyFleet> {
  const boot = o.boot ?? 1;
  let acked = 0;
  let published = 0;
  let reconnects = 0;
  const clients: MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  const finished: Array<Promise<void>> = [];
  for (const d of o.devices) {
    const client = mqtt.connect(o.url, { protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, clean: false, reconnectPeriod: 250, connectTimeout: 5000, keepalive: 10 });
    client.on('error', () => undefined);
    client.on('reconnect', () => reconnects++);
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const topic = buildTopic('water-meter', d.id, 'telemetry');
    let seq = 0;
    let ackedHere = 0;
    let resolveDone!: () => void;
    finished.push(new Promise<void>((r) => (resolveDone = r)));
    const timer = setInterval(() => {
      if (seq >= o.messagesPerDevice) return clearInterval(timer);
      const n = seq++;
      const ts = o.t0 + n * 1000;
      const payload = JSON.stringify({ v: 1, id: d.id, boot, seq: n, ts, samples: [{ ts, indexL: indexLOf(n), flowLph: (n % 50) + 0.5 }] });
      published++;
      // MQTT.js keeps it (in flight or queued while offline) until the PUBACK, resending after reconnects.
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) return;
        acked++;
        o.onAck?.(d.id, n);
        if (++ackedHere === o.messagesPerDevice) resolveDone();
      });
    }, o.intervalMs);
    timers.push(timer);
  }
  return {
    acked: () => acked,
    published: () => published,
    reconnects: () => reconnects,
    done: Promise.all(finished).then(() => undefined),
    async close() {
      for (const t of timers) clearInterval(t);
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}
