/**
 * MQTT 3.1.1 packets as raw bytes, written by hand so tests can send exactly what a broken or hostile
 * client would: wrong lengths, wrong protocol names, packets out of order, truncated and oversized.
 */
import { Rng } from './rng.js';

/** Remaining-length varint (§2.2.3); `forceBytes` pads it with continuation bytes (malformed if > 4). */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length & 0xffff);
  return Buffer.concat([len, b]);
}

export function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), varint(body.length), body]);
}

export interface ConnectFields {
  protocol?: string;
  level?: number;
  flags?: number;
  keepalive?: number;
  clientId?: string | Buffer;
  username?: string | Buffer;
  password?: string | Buffer;
  will?: { topic: string; payload: Buffer };
}

export function connectPacket(f: ConnectFields = {}): Buffer {
  let flags = f.flags ?? 0x02; // clean session
  if (f.flags === undefined) {
    if (f.username !== undefined) flags |= 0x80;
    if (f.password !== undefined) flags |= 0x40;
    if (f.will) flags |= 0x04;
  }
  const ka = Buffer.alloc(2);
  ka.writeUInt16BE(f.keepalive ?? 30);
  return packet(
    0x10,
    Buffer.concat([
      str(f.protocol ?? 'MQTT'),
      Buffer.from([f.level ?? 4, flags]),
      ka,
      str(f.clientId ?? ''),
      ...(f.will ? [str(f.will.topic), str(f.will.payload)] : []),
      ...(f.username !== undefined ? [str(f.username)] : []),
      ...(f.password !== undefined ? [str(f.password)] : []),
    ]),
  );
}

export function publishPacket(topic: string | Buffer, payload: Buffer, qos: 0 | 1 | 2 | 3 = 0, messageId = 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  return packet(0x30 | (qos << 1), Buffer.concat([str(topic), ...(qos > 0 ? [id] : []), payload]));
}

export function subscribePacket(filter: string, qos = 1, messageId = 1): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(messageId);
  return packet(0x82, Buffer.concat([id, str(filter), Buffer.from([qos])]));
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

export interface MalformedCase {
  name: string;
  /** Bytes sent in order; `login` prepends a valid CONNECT of a provisioned device. */
  chunks: Buffer[];
  login?: boolean;
}

/** The named malformed inputs every broker must survive (and go on serving others). */
export function malformedCases(): MalformedCase[] {
  const goodConnect = connectPacket({ clientId: 'x', username: 'nobody', password: 'nothing-at-all-000' });
  return [
    { name: 'garbage before CONNECT', chunks: [Buffer.from('\x00\x01\x02\xff\xfe\xfd garbage')] },
    { name: 'HTTP request on the MQTT port', chunks: [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')] },
    { name: 'TLS ClientHello on the plain port', chunks: [Buffer.from('1603010200010001fc0303', 'hex')] },
    { name: 'PUBLISH before CONNECT', chunks: [publishPacket('tsunagaru/v1/smart-pole/pole-01/telemetry', Buffer.from('{}'), 1)] },
    { name: 'SUBSCRIBE before CONNECT', chunks: [subscribePacket('#')] },
    { name: '1000 PINGREQ before CONNECT', chunks: [Buffer.concat(Array.from({ length: 1000 }, () => PINGREQ))] },
    { name: 'bad protocol name', chunks: [connectPacket({ protocol: 'HTTP' })] },
    { name: 'empty protocol name', chunks: [connectPacket({ protocol: '' })] },
    { name: 'MQIsdp name with level 4', chunks: [connectPacket({ protocol: 'MQIsdp', level: 4 })] },
    { name: 'protocol level 9', chunks: [connectPacket({ level: 9 })] },
    { name: 'protocol level 0', chunks: [connectPacket({ level: 0 })] },
    { name: 'CONNECT reserved flag set', chunks: [connectPacket({ flags: 0x03, clientId: 'x' })] },
    { name: 'password flag without username flag', chunks: [connectPacket({ flags: 0x42, clientId: 'x', password: 'p' })] },
    { name: 'will QoS 3', chunks: [connectPacket({ flags: 0x1e, clientId: 'x', will: { topic: 't', payload: Buffer.from('w') } })] },
    { name: 'username flag but no username bytes', chunks: [connectPacket({ flags: 0x82, clientId: 'x' })] },
    { name: 'client id with invalid UTF-8', chunks: [connectPacket({ clientId: Buffer.from([0xff, 0xfe, 0x00]) })] },
    { name: 'remaining length with 5 bytes', chunks: [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f])] },
    { name: 'remaining length declaring 256 MiB', chunks: [Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])] },
    { name: 'CONNECT declaring 100 bytes, sending 10, then stalling', chunks: [Buffer.concat([Buffer.from([0x10, 100]), Buffer.alloc(10)])] },
    { name: 'truncated CONNECT header', chunks: [goodConnect.subarray(0, 7)] },
    { name: 'zero-length CONNECT', chunks: [Buffer.from([0x10, 0x00])] },
    { name: 'reserved packet type 0', chunks: [Buffer.from([0x00, 0x00])] },
    { name: 'reserved packet type 15', chunks: [Buffer.from([0xf0, 0x00])] },
    { name: 'string length beyond the packet', chunks: [Buffer.from([0x10, 0x04, 0xff, 0xff, 0x4d, 0x51])] },
    { name: 'second CONNECT after login', login: true, chunks: [goodConnect] },
    { name: 'PUBLISH QoS 3 after login', login: true, chunks: [publishPacket('tsunagaru/v1/smart-pole/pole-01/telemetry', Buffer.from('{}'), 3)] },
    { name: 'PUBLISH with empty topic after login', login: true, chunks: [publishPacket('', Buffer.from('{}'), 1)] },
    { name: 'PUBLISH with wildcard topic after login', login: true, chunks: [publishPacket('tsunagaru/v1/#', Buffer.from('{}'), 1)] },
    { name: 'PUBLISH with NUL in topic after login', login: true, chunks: [publishPacket('tsunagaru/v1/smart-pole/pole-01/tele\u0000metry', Buffer.from('{}'), 1)] },
    { name: 'PUBLISH with invalid UTF-8 topic after login', login: true, chunks: [publishPacket(Buffer.from([0x74, 0xff, 0xc0, 0xaf]), Buffer.from('{}'), 1)] },
    { name: 'PUBLISH with 200 topic levels after login', login: true, chunks: [publishPacket('a/'.repeat(200), Buffer.from('{}'), 0)] },
    { name: 'SUBSCRIBE with no filters after login', login: true, chunks: [packet(0x82, Buffer.from([0x00, 0x01]))] },
    { name: 'SUBSCRIBE QoS 3 after login', login: true, chunks: [subscribePacket('tsunagaru/v1/smart-pole/pole-01/cmd', 3)] },
    { name: 'SUBSCRIBE with wrong fixed-header flags after login', login: true, chunks: [packet(0x80, Buffer.concat([Buffer.from([0, 1]), str('x'), Buffer.from([1])]))] },
    { name: 'PUBACK for a message never sent after login', login: true, chunks: [Buffer.from([0x40, 0x02, 0x12, 0x34])] },
    { name: 'PUBREL storm after login', login: true, chunks: [Buffer.concat(Array.from({ length: 500 }, (_, i) => Buffer.from([0x62, 0x02, i >> 8, i & 0xff])))] },
    { name: 'oversized PUBLISH body after login', login: true, chunks: [Buffer.concat([Buffer.from([0x30]), varint(10_000_000), Buffer.alloc(1000)])] },
  ];
}

/** Random damage to a valid packet sequence: bit flips, truncation, insertion, duplication. */
export function mutatePackets(rng: Rng, valid: Buffer): Buffer {
  const b = Buffer.from(valid);
  switch (rng.int(5)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(6); i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    case 1:
      return b.subarray(0, rng.int(b.length));
    case 2: {
      const at = rng.int(b.length);
      return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(32)), b.subarray(at)]);
    }
    case 3:
      b[rng.int(Math.min(b.length, 6))] = rng.int(256); // the header bytes: type, flags, length
      return b;
    default:
      return rng.bytes(1 + rng.int(300));
  }
}
