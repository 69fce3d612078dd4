/**
 * Child process: one connected device that measures what a flood costs it, on a raw socket.
 *   connect  log the device in (and keep the session)
 *   measure  publish at QoS 1, one message in flight, at a fixed rate; each PUBACK's round trip in ms
 *   relogin  log a second session of the same device in and out, n times; each CONNACK's time in ms
 * Its own process, so the flood generator's CPU does not delay the measurement's event loop.
 */
import type { Socket } from 'node:net';
import { buildTopic, type DeviceType } from '@tsunagaru/firmware-contracts';
import { serveWorker, type WorkerMessage } from '../worker.js';
import { mqttConnect, PACKET, PacketReader, PublishTemplate, sentAtText, wallClockMs } from './wire.js';

interface DeviceSpec {
  id: string;
  type: DeviceType;
  secret: string;
}

let session: { socket: Socket; device: DeviceSpec; onPuback: (() => void) | undefined } | undefined;
let target: { host: string; port: number; from: string } | undefined;

async function connect(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { host, port, device, from } = m as unknown as { host: string; port: number; device: DeviceSpec; from: string };
  target = { host, port, from };
  const socket = await mqttConnect({ host, port, clientId: device.id, username: device.id, password: device.secret, localAddress: from, timeoutMs: 30_000 });
  const s: NonNullable<typeof session> = { socket, device, onPuback: undefined };
  const reader = new PacketReader((type) => {
    if (type === PACKET.PUBACK) s.onPuback?.();
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', () => undefined);
  session = s;
  return {};
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { durationMs, ratePerSec, payloadBytes } = m as unknown as { durationMs: number; ratePerSec: number; payloadBytes: number };
  const s = session;
  if (!s || s.socket.destroyed) throw new Error('probe device is not connected');
  const template = new PublishTemplate(buildTopic(s.device.type, s.device.id, 'telemetry'), 1, payloadBytes);
  const buf = Buffer.allocUnsafe(template.bytes.length);
  const roundTrips: number[] = [];
  let lost = 0;
  const interval = 1000 / ratePerSec;
  const end = performance.now() + durationMs;
  let messageId = 0;
  while (performance.now() < end) {
    const due = performance.now() + interval;
    messageId = messageId === 65535 ? 1 : messageId + 1;
    template.fill(buf, 0, messageId, sentAtText(wallClockMs()));
    const t0 = performance.now();
    const acked = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      s.onPuback = () => {
        clearTimeout(timer);
        resolve(true);
      };
      s.socket.write(buf);
    });
    s.onPuback = undefined;
    if (!acked) {
      lost++;
      if (s.socket.destroyed) throw new Error(`probe device disconnected after ${roundTrips.length} messages`);
      continue;
    }
    roundTrips.push(performance.now() - t0);
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return { roundTrips, lost };
}

async function relogin(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { count } = m as unknown as { count: number };
  if (!session || !target) throw new Error('probe device is not connected');
  const times: number[] = [];
  const codes: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      const socket = await mqttConnect({ host: target.host, port: target.port, clientId: `${session.device.id}:relogin`, username: session.device.id, password: session.device.secret, localAddress: target.from, timeoutMs: 30_000 });
      times.push(performance.now() - t0);
      codes['0'] = (codes['0'] ?? 0) + 1;
      socket.destroy();
    } catch (err) {
      const code = String((err as { returnCode?: number }).returnCode ?? (err as Error).message);
      codes[code] = (codes[code] ?? 0) + 1;
    }
    await sleep(200);
  }
  return { times, codes };
}

serveWorker({
  connect,
  measure,
  relogin,
  close: async () => {
    session?.socket.destroy();
    session = undefined;
    return {};
  },
});
