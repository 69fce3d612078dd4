import { describe, expect, it } from 'vitest';
import { loadCommittedSchemas } from '../test/helpers.js';
import { MAX_PAYLOAD_BYTES, MAX_SAMPLES, parsePayload, validateMessage, validatePayload } from './index.js';

const T0 = 1_775_001_600_000; // 2026-04-01T00:00:00Z
const BS_TELEMETRY = 'tsunagaru/v1/bs-power/bs-minato-017/telemetry';
const schemas = loadCommittedSchemas();

function bsTelemetry(samples: number) {
  return {
    v: 1,
    id: 'bs-minato-017',
    boot: 7,
    seq: 1,
    ts: T0,
    replay: true,
    samples: Array.from({ length: samples }, (_, i) => ({ ts: T0 + i * 60_000, mains: 'on', batterySocPct: 100 })),
  };
}

/** The payload serialised and padded with JSON whitespace to exactly `bytes` bytes. */
function padded(payload: unknown, bytes: number): string {
  const text = JSON.stringify(payload);
  const pad = bytes - Buffer.byteLength(text);
  if (pad < 0) throw new Error(`payload is already ${Buffer.byteLength(text)} bytes`);
  return text + ' '.repeat(pad);
}

describe('sample count', () => {
  it(`accepts ${MAX_SAMPLES} samples in zod and the JSON Schema`, () => {
    const p = bsTelemetry(MAX_SAMPLES);
    expect(validateMessage(BS_TELEMETRY, JSON.stringify(p))).toMatchObject({ ok: true });
    expect(schemas.validate('telemetry.bs-power.json', p).valid).toBe(true);
  });

  it(`rejects ${MAX_SAMPLES + 1} samples in zod and the JSON Schema`, () => {
    const p = bsTelemetry(MAX_SAMPLES + 1);
    expect(validateMessage(BS_TELEMETRY, JSON.stringify(p))).toMatchObject({ ok: false, errors: ['samples: must have at most 1000 items'] });
    expect(schemas.validate('telemetry.bs-power.json', p).valid).toBe(false);
  });
});

describe('64 KiB payload limit', () => {
  const small = bsTelemetry(1);

  it('accepts a valid payload of exactly 65,536 bytes', () => {
    expect(validateMessage(BS_TELEMETRY, padded(small, MAX_PAYLOAD_BYTES))).toMatchObject({ ok: true });
    expect(validateMessage(BS_TELEMETRY, Buffer.from(padded(small, MAX_PAYLOAD_BYTES)))).toMatchObject({ ok: true });
  });

  it('rejects 65,537 bytes, naming the limit, whether given as string or bytes', () => {
    const expected = { ok: false, errors: ['payload: 65537 bytes exceeds the 65536-byte limit'] };
    expect(validateMessage(BS_TELEMETRY, padded(small, MAX_PAYLOAD_BYTES + 1))).toMatchObject(expected);
    expect(validateMessage(BS_TELEMETRY, Buffer.from(padded(small, MAX_PAYLOAD_BYTES + 1)))).toMatchObject(expected);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const note = '東'.repeat(22_000); // 22,000 characters, 66,000 bytes
    const event = { v: 1, id: 'bs-minato-017', boot: 7, seq: 2, ts: T0, type: 'generator_fault', detail: { note } };
    const r = validateMessage('tsunagaru/v1/bs-power/bs-minato-017/event', JSON.stringify(event));
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.errors[0]).toMatch(/^payload: \d+ bytes exceeds the 65536-byte limit$/);
  });

  it('keeps the topic in the result so the ingest can file the rejection under its device', () => {
    const r = validateMessage(BS_TELEMETRY, padded(small, MAX_PAYLOAD_BYTES + 1));
    expect(r).toMatchObject({ ok: false, topic: { type: 'bs-power', deviceId: 'bs-minato-017', channel: 'telemetry' } });
  });
});

describe('payload encoding', () => {
  it.each([
    ['{', /^payload: invalid JSON \(.+\)$/],
    ['', /^payload: invalid JSON \(.+\)$/],
    ["{'v':1}", /^payload: invalid JSON \(.+\)$/],
    ['{"v":1,}', /^payload: invalid JSON \(.+\)$/],
    ['NaN', /^payload: invalid JSON \(.+\)$/],
  ])('rejects invalid JSON %j', (text, error) => {
    const r = validateMessage(BS_TELEMETRY, text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toHaveLength(1);
    expect(!r.ok && r.errors[0]).toMatch(error);
  });

  it('rejects bytes that are not UTF-8 instead of replacing them', () => {
    const bytes = Buffer.concat([Buffer.from('{"v":1,"cmdId":"'), Buffer.from([0xff, 0xfe]), Buffer.from(`","ok":true,"ts":${T0}}`)]);
    expect(validateMessage('tsunagaru/v1/bs-power/bs-minato-017/cmd/ack', bytes)).toMatchObject({ ok: false, errors: ['payload: not valid UTF-8'] });
  });

  it('rejects a byte-order mark', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(bsTelemetry(1)))]);
    const r = validateMessage(BS_TELEMETRY, bytes);
    expect(!r.ok && r.errors[0]).toMatch(/^payload: invalid JSON/);
  });

  it.each([
    ['a lone high surrogate in a value', '{"v":1,"id":"\\ud800x"}'],
    ['a lone low surrogate in a key', '{"v":1,"\\udc00":1}'],
    ['a reversed pair deep in an array', `{"v":1,"detail":${'['.repeat(20)}"\\udc00\\ud800"${']'.repeat(20)}}`],
    ['an uppercase escape', '{"v":1,"id":"\\uDBFF"}'],
    ['a raw lone surrogate in text given as a string (no escape)', `{"v":1,"id":"${String.fromCharCode(0xd800)}x"}`],
  ])('rejects %s (found by the fuzz suite: the store refused it forever)', (_label, text) => {
    expect(parsePayload(text)).toMatchObject({ ok: false, error: expect.stringContaining('unpaired UTF-16 surrogate') });
  });

  it('rejects nesting deeper than 32 levels (found by the fuzz suite: the store overflowed its stack on every retry)', () => {
    const nest = (n: number) => `{"v":1,"detail":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`;
    expect(parsePayload(nest(31))).toMatchObject({ ok: true }); // 32 levels of objects
    expect(parsePayload(nest(32))).toEqual({ ok: false, error: 'payload: nested deeper than 32 levels' });
    expect(parsePayload(`[${'['.repeat(30_000)}${']'.repeat(30_000)}]`)).toEqual({ ok: false, error: 'payload: nested deeper than 32 levels' });
  });

  it('accepts a properly paired surrogate escape (an emoji)', () => {
    expect(parsePayload('{"v":1,"note":"\\ud83d\\udca7"}')).toEqual({ ok: true, value: { v: 1, note: '💧' } });
  });

  it('decodes a Uint8Array view at a non-zero offset of a larger buffer', () => {
    const text = JSON.stringify(bsTelemetry(1));
    const big = Buffer.from(`GARBAGE${text}GARBAGE`);
    const view = new Uint8Array(big.buffer, big.byteOffset + 7, Buffer.byteLength(text));
    expect(validateMessage(BS_TELEMETRY, view)).toMatchObject({ ok: true });
    expect(parsePayload(view)).toEqual({ ok: true, value: bsTelemetry(1) });
  });

  it.each([
    ['[]', 'payload: must be a JSON object, got an array'],
    ['[{"ts":1}]', 'payload: must be a JSON object, got an array'],
    ['null', 'payload: must be a JSON object, got null'],
    ['42', 'payload: must be a JSON object, got number'],
    ['"online"', 'payload: must be a JSON object, got string'],
    ['true', 'payload: must be a JSON object, got boolean'],
  ])('rejects the non-object payload %s', (text, error) => {
    expect(validateMessage(BS_TELEMETRY, text)).toMatchObject({ ok: false, errors: [error] });
  });
});

describe('validateMessage results', () => {
  it('reports a bad topic without parsing the payload or inventing a topic', () => {
    const r = validateMessage('tsunagaru/v1/street-light/sl-1/telemetry', '{');
    expect(r).toEqual({
      ok: false,
      errors: ['topic: unknown device type "street-light"; expected one of smart-pole, water-meter, bs-power, ring-node'],
      reason: 'topic: unknown device type "street-light"; expected one of smart-pole, water-meter, bs-power, ring-node',
    });
  });

  it('returns the parsed message with its address on success', () => {
    const r = validateMessage(BS_TELEMETRY, JSON.stringify(bsTelemetry(2)));
    expect(r).toEqual({ ok: true, message: { type: 'bs-power', deviceId: 'bs-minato-017', channel: 'telemetry', payload: bsTelemetry(2) } });
  });

  it('runs cross-field rules only once the payload matches its schema', () => {
    // Schema errors first: a payload with both kinds reports the schema error, not a misleading id mismatch.
    const p = { ...bsTelemetry(1), id: 'someone-else', seq: -1 };
    const r = validatePayload({ type: 'bs-power', deviceId: 'bs-minato-017', channel: 'telemetry' }, p);
    expect(r).toMatchObject({ ok: false, errors: ['seq: must be ≥ 0'] });
  });

  it('applies the id rule to state, including a death will', () => {
    const r = validateMessage('tsunagaru/v1/bs-power/bs-minato-017/state', JSON.stringify({ v: 1, id: 'bs-minato-018', state: 'offline', boot: 7 }));
    expect(r).toMatchObject({ ok: false, errors: ['id: must equal the topic\'s deviceId "bs-minato-017", got "bs-minato-018"'] });
  });

  it('treats an empty error string on a failed ack as missing', () => {
    const ack = { v: 1, cmdId: 'c1', ok: false, error: '', ts: T0 };
    expect(validateMessage('tsunagaru/v1/bs-power/bs-minato-017/cmd/ack', JSON.stringify(ack))).toMatchObject({
      ok: false,
      errors: ['error: is required when ok is false'],
    });
  });

  it('accepts a replay command whose range is a single instant, and expiresTs equal to ts', () => {
    const cmd = { v: 1, cmdId: 'c2', name: 'replay', args: { fromTs: T0, toTs: T0 }, ts: T0, expiresTs: T0 };
    expect(validateMessage('tsunagaru/v1/ring-node/rn-niijima/cmd', JSON.stringify(cmd))).toMatchObject({ ok: true });
  });
});
