import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, FRAME_HEADER_BYTES } from './record.js';

describe('journal record', () => {
  it.each([
    ['an ASCII topic', 'tsunagaru/v1/water-meter/wm-1/telemetry', Buffer.from('{"v":1}')],
    ['a multi-byte topic (a garbage topic is journaled before it is dead-lettered)', '水道/メーター/🚰', Buffer.from([0, 255, 1])],
    ['an empty payload', 't', Buffer.alloc(0)],
  ])('decodes what it encodes: %s', (_label, topic, payload) => {
    const buf = encodeRecord(2 ** 40 + 3, 1_795_000_000_123.5, topic, payload);
    expect(buf.length).toBe(FRAME_HEADER_BYTES + 16 + Buffer.byteLength(topic) + payload.length);
    const r = decodeRecord(Buffer.concat([Buffer.from('xx'), buf]), 2);
    expect(r).toEqual({ kind: 'record', record: { lsn: 2 ** 40 + 3, receivedAt: 1_795_000_000_123.5, topic, payload }, bytes: buf.length });
  });

  it('finds a flipped bit in the topic and a cut record', () => {
    const buf = encodeRecord(1, 1, 'tsunagaru/v1/x', Buffer.from('{}'));
    const flipped = Buffer.from(buf);
    flipped[FRAME_HEADER_BYTES + 17]! ^= 1;
    expect(decodeRecord(flipped, 0)).toEqual({ kind: 'corrupt', reason: 'CRC mismatch' });
    expect(decodeRecord(buf.subarray(0, buf.length - 1), 0)).toEqual({ kind: 'incomplete' });
  });
});
