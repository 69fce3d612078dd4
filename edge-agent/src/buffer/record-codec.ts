import * as zlib from 'node:zlib';
import type { BufferedSample, Lane, OutgoingMessage } from './types.js';

/**
 * On-disk records: `[u32 body length][u32 CRC-32 of body][body]`, little-endian. The body starts with a
 * kind byte: `S` (a sample of the open batch, JSON), `M` (a numbered message: u16 header length, header
 * JSON, payload bytes) or `K` (acknowledged ids, JSON array). A record that fails its length or CRC check
 * marks the end of what was durably written (a torn write after a power cut).
 */
export const HEADER_BYTES = 8;
/** Bigger than any valid record (a 64 KiB payload plus its header); a larger length means corruption. */
export const MAX_BODY_BYTES = 256 * 1024;

const KIND = { sample: 0x53, message: 0x4d, ack: 0x4b } as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as zip and PNG); zlib's native one where this Node has it (≥ 20.15). */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

export interface MessageHeader {
  lane: Lane;
  ch: 'telemetry' | 'event';
  boot: number;
  seq: number;
  t0: number;
  t1: number;
  n: number;
  /** True when this message consumed the open batch (every sample record before it). */
  sealed: boolean;
}

export type DecodedRecord =
  | { kind: 'sample'; sample: BufferedSample }
  | { kind: 'message'; header: MessageHeader; payloadOffset: number; payloadLength: number; payload: Buffer }
  | { kind: 'ack'; ids: number[] };

export function encodeSample(sample: BufferedSample): Buffer {
  return frame(Buffer.concat([Buffer.of(KIND.sample), Buffer.from(JSON.stringify(sample), 'utf8')]));
}

export function encodeMessage(m: OutgoingMessage, sealed: boolean): { record: Buffer; payloadOffset: number; header: MessageHeader } {
  const header: MessageHeader = { lane: m.lane, ch: m.channel, boot: m.boot, seq: m.seq, t0: m.firstTs, t1: m.lastTs, n: m.samples, sealed };
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(h.length, 0);
  return { record: frame(Buffer.concat([Buffer.of(KIND.message), len, h, m.payload])), payloadOffset: HEADER_BYTES + 3 + h.length, header };
}

export function encodeAck(ids: readonly number[]): Buffer {
  return frame(Buffer.concat([Buffer.of(KIND.ack), Buffer.from(JSON.stringify(ids), 'utf8')]));
}

export function messageFromHeader(h: MessageHeader, payload: Buffer): OutgoingMessage {
  return { lane: h.lane, channel: h.ch, boot: h.boot, seq: h.seq, firstTs: h.t0, lastTs: h.t1, samples: h.n, payload };
}

/**
 * Decodes the record at `offset` of `buf`. Returns undefined at a clean end, `'corrupt'` for a torn or
 * damaged record, else the record and the offset of the next one. Payloads are views into `buf`.
 */
export function decodeRecord(buf: Buffer, offset: number): { record: DecodedRecord; next: number } | 'corrupt' | undefined {
  if (offset === buf.length) return undefined;
  if (buf.length - offset < HEADER_BYTES) return 'corrupt';
  const length = buf.readUInt32LE(offset);
  if (length < 1 || length > MAX_BODY_BYTES || offset + HEADER_BYTES + length > buf.length) return 'corrupt';
  const body = buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  if (crc32(body) !== buf.readUInt32LE(offset + 4)) return 'corrupt';
  const next = offset + HEADER_BYTES + length;
  try {
    switch (body[0]) {
      case KIND.sample:
        return { record: { kind: 'sample', sample: JSON.parse(body.subarray(1).toString('utf8')) as BufferedSample }, next };
      case KIND.message: {
        const hl = body.readUInt16LE(1);
        const header = JSON.parse(body.subarray(3, 3 + hl).toString('utf8')) as MessageHeader;
        const payload = body.subarray(3 + hl);
        return { record: { kind: 'message', header, payloadOffset: offset + HEADER_BYTES + 3 + hl, payloadLength: payload.length, payload }, next };
      }
      case KIND.ack:
        return { record: { kind: 'ack', ids: JSON.parse(body.subarray(1).toString('utf8')) as number[] }, next };
      default:
        return 'corrupt';
    }
  } catch {
    return 'corrupt';
  }
}
