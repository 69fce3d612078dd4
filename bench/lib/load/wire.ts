/**
 * Just enough MQTT 3.1.1 on a raw socket for the load generators: packets are encoded once with
 * mqtt-packet and then copied and patched (message id, send time), and incoming packets are split by
 * their fixed header (§2.2) without a general parser, so the generator costs little per message
 * and the broker, not the generator, is what runs out of CPU.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** The i-th of `count` loopback source addresses under `prefix` (127.1 → 127.1.0.1, 127.1.0.2, … 127.1.0.250, 127.1.1.1, …). */
export function loopbackAddress(prefix: string, i: number, count: number): string {
  const k = i % count;
  return `${prefix}.${Math.floor(k / 250)}.${1 + (k % 250)}`;
}

export const PACKET = { CONNACK: 2, PUBLISH: 3, PUBACK: 4, SUBACK: 9, PINGRESP: 13 } as const;

/** Splits a byte stream into MQTT packets: calls `onPacket(type, flags, buf, bodyStart, bodyEnd)`. */
export class PacketReader {
  private pending: Buffer | undefined;

  constructor(private readonly onPacket: (type: number, flags: number, buf: Buffer, start: number, end: number) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    while (i < buf.length) {
      const first = buf[i]!;
      let length = 0;
      let multiplier = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j - i <= 4) {
        const byte = buf[j++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + length > buf.length) break;
      this.onPacket(first >> 4, first & 0x0f, buf, j, j + length);
      i = j + length;
    }
    if (i < buf.length) this.pending = buf.subarray(i);
  }
}

export interface ConnectOptions {
  host: string;
  port: number;
  clientId: string;
  username: string;
  password: string;
  /** Source address on loopback (127.x.y.z), so a fleet need not share one address. */
  localAddress?: string;
  keepalive?: number;
  timeoutMs?: number;
}

/** Connects and logs in; resolves with the socket after CONNACK 0, rejects with the return code otherwise. */
export function mqttConnect(o: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(new Error(`no CONNACK in ${o.timeoutMs ?? 60_000} ms`)), o.timeoutMs ?? 60_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const reader = new PacketReader((type, _flags, buf, start) => {
      if (type !== PACKET.CONNACK) return fail(new Error(`expected CONNACK, got packet type ${type}`));
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', fail);
      socket.removeListener('close', onClose);
      const code = buf[start + 1]!;
      if (code !== 0) {
        socket.destroy();
        return reject(Object.assign(new Error(`CONNACK ${code}`), { returnCode: code }));
      }
      resolve(socket);
    });
    const onData = (chunk: Buffer): void => reader.push(chunk);
    const onClose = (): void => fail(new Error('closed before CONNACK'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
    socket.once('connect', () =>
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId: o.clientId,
          keepalive: o.keepalive ?? 0,
          username: o.username,
          password: Buffer.from(o.password),
        }),
      ),
    );
  });
}

/**
 * A PUBLISH encoded once; `fill` copies it into a batch buffer and patches the message id (QoS 1)
 * and the send time: the payload starts `{"sentAt":"<17 characters>"`, epoch ms with 3 decimals.
 */
export class PublishTemplate {
  readonly bytes: Buffer;
  private readonly idOffset: number;
  private readonly timeOffset: number;

  constructor(topic: string, qos: 0 | 1, payloadBytes: number) {
    const head = `{"sentAt":"${'0'.repeat(TIME_WIDTH)}","seq":0,"v":{"voltage_v":230.4,"current_a":1.27,"lux":412,"temp_c":24.5}`;
    const pad = Math.max(0, payloadBytes - head.length - 8);
    const payload = Buffer.from(`${head},"p":"${'x'.repeat(pad)}"}`);
    this.bytes = mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos ? 1 : undefined, retain: false, dup: false });
    const payloadStart = this.bytes.length - payload.length;
    this.idOffset = qos ? payloadStart - 2 : -1;
    this.timeOffset = payloadStart + payload.indexOf('0'.repeat(TIME_WIDTH));
  }

  fill(target: Buffer, at: number, messageId: number, sentAt: string): void {
    this.bytes.copy(target, at);
    if (this.idOffset >= 0) target.writeUInt16BE(messageId, at + this.idOffset);
    target.write(sentAt, at + this.timeOffset, 'latin1');
  }
}

const TIME_WIDTH = 17;

/** Wall-clock now as the payload carries it, shared by publisher and subscriber processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sentAtText(ms: number): string {
  return ms.toFixed(3).padStart(TIME_WIDTH, '0');
}

/** Reads the send time back from a delivered payload (see PublishTemplate). */
export function sentAtOf(buf: Buffer, payloadStart: number): number {
  return Number(buf.toString('latin1', payloadStart + 11, payloadStart + 11 + TIME_WIDTH));
}

export function subscribePacket(filter: string, qos: 0 | 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
}

export function pubackPacket(target: Buffer, at: number, messageId: number): void {
  target[at] = 0x40;
  target[at + 1] = 2;
  target.writeUInt16BE(messageId, at + 2);
}
