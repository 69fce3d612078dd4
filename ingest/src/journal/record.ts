/**
 * One journal record: a raw MQTT message as the ingest received it, framed so a torn or corrupted write
 * is detected on replay.
 *
 *   u32 bodyLength | u32 crc32(body) | body
 *   body = u48 lsn | f64 receivedAt (epoch ms) | u16 topicLength | topic (UTF-8) | payload (bytes)
 *
 * Little-endian. The LSN (log sequence number) numbers records 1, 2, 3, … across segments.
 */
import { crc32 } from 'node:zlib';

export interface JournalRecord {
  lsn: number;
  receivedAt: number;
  topic: string;
  payload: Buffer;
}

export const FRAME_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 6 + 8 + 2;
/** Larger than any record we write (64 KiB payload + topic): a longer length field means corruption. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function encodeRecord(lsn: number, receivedAt: number, topic: string, payload: Buffer): Buffer {
  // The topic is written straight into the record, not first into a buffer of its own (once per message).
  const topicLength = Buffer.byteLength(topic, 'utf8');
  const bodyLength = BODY_FIXED_BYTES + topicLength + payload.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLength);
  buf.writeUInt32LE(bodyLength, 0);
  let o = FRAME_HEADER_BYTES;
  o = buf.writeUIntLE(lsn, o, 6);
  o = buf.writeDoubleLE(receivedAt, o);
  o = buf.writeUInt16LE(topicLength, o);
  o += buf.write(topic, o, 'utf8');
  payload.copy(buf, o);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 4);
  return buf;
}

export type DecodeResult =
  | { kind: 'record'; record: JournalRecord; bytes: number }
  /** Not enough bytes for a whole record (the rest may follow, or it is a torn tail). */
  | { kind: 'incomplete' }
  | { kind: 'corrupt'; reason: string };

/** Decodes the record at `offset`. The payload is copied, so the caller may reuse `buf`. */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete' };
  const bodyLength = buf.readUInt32LE(offset);
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > MAX_BODY_BYTES) return { kind: 'corrupt', reason: `record length ${bodyLength} out of range` };
  const end = offset + FRAME_HEADER_BYTES + bodyLength;
  if (buf.length < end) return { kind: 'incomplete' };
  const body = buf.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(offset + 4)) return { kind: 'corrupt', reason: 'CRC mismatch' };
  const lsn = body.readUIntLE(0, 6);
  const receivedAt = body.readDoubleLE(6);
  const topicLength = body.readUInt16LE(14);
  if (BODY_FIXED_BYTES + topicLength > bodyLength) return { kind: 'corrupt', reason: 'topic length out of range' };
  const topic = body.toString('utf8', BODY_FIXED_BYTES, BODY_FIXED_BYTES + topicLength);
  const payload = Buffer.from(body.subarray(BODY_FIXED_BYTES + topicLength));
  return { kind: 'record', record: { lsn, receivedAt, topic, payload }, bytes: FRAME_HEADER_BYTES + bodyLength };
}
