/**
 * Child process: the ingest service account subscribed to `tsunagaru/v1/#` at QoS 1, on a raw socket.
 * Counts every delivered PUBLISH, answers QoS 1 ones with PUBACK (batched per read), and, while
 * recording, keeps each message's end-to-end latency (now − the send time in its payload).
 *   connect  log in and subscribe
 *   count    messages delivered so far
 *   record   start (clear) or stop keeping latencies
 *   latencies p50/p99/max of what was recorded
 */
import type { Socket } from 'node:net';
import { percentile } from '../stats.js';
import { serveWorker, type WorkerMessage } from '../worker.js';
import { mqttConnect, PACKET, PacketReader, pubackPacket, sentAtOf, subscribePacket, wallClockMs } from './wire.js';

let socket: Socket | undefined;
let delivered = 0;
let recording = false;
let latencies: number[] = [];
let closed = false;

async function connect(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { host, port, username, password, filter } = m as unknown as { host: string; port: number; username: string; password: string; filter: string };
  const s = await mqttConnect({ host, port, clientId: `${username}:bench`, username, password });
  socket = s;
  let subacked: (code: number) => void = () => undefined;
  let acks: Buffer[] = [];
  const reader = new PacketReader((type, flags, buf, start, end) => {
    if (type === PACKET.PUBLISH) {
      delivered++;
      const qos = (flags >> 1) & 3;
      const topicLength = buf.readUInt16BE(start);
      let payloadStart = start + 2 + topicLength;
      if (qos > 0) {
        const ack = Buffer.allocUnsafe(4);
        pubackPacket(ack, 0, buf.readUInt16BE(payloadStart));
        acks.push(ack);
        payloadStart += 2;
      }
      if (recording && end - payloadStart > 28) latencies.push(wallClockMs() - sentAtOf(buf, payloadStart));
    } else if (type === PACKET.SUBACK) {
      subacked(buf[start + 2]!);
    }
  });
  s.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    if (acks.length) {
      s.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
      acks = [];
    }
  });
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  const code = await new Promise<number>((resolve) => {
    subacked = resolve;
    s.write(subscribePacket(filter, 1));
  });
  if (code === 0x80) throw new Error(`subscription to ${filter} refused`);
  return { grantedQos: code };
}

serveWorker({
  connect,
  count: async () => ({ delivered, closed }),
  record: async (m) => {
    recording = Boolean(m.on);
    if (recording) latencies = [];
    return { recorded: latencies.length };
  },
  latencies: async () => ({
    count: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.reduce((a, b) => Math.max(a, b), 0),
  }),
  close: async () => {
    socket?.destroy();
    return {};
  },
});
