/**
 * Sparkplug B payloads (protobuf, Eclipse Tahu's sparkplug_b.proto) through `sparkplug-payload`, the Eclipse
 * Tahu JavaScript library. 64-bit integers arrive as Long objects; they become numbers here (exact up to
 * 2^53, which every seq, bdSeq, timestamp and alias is).
 */
import sparkplug from 'sparkplug-payload';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';

const codec = sparkplug.get('spBv1.0')!;

export interface Metric {
  name?: string;
  alias?: number;
  type?: string;
  value: unknown;
  timestamp?: number;
  isNull?: boolean;
}

export interface Payload {
  timestamp?: number;
  seq?: number;
  metrics: Metric[];
}

function toNumber(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return undefined;
}

function scalar(v: unknown): unknown {
  const n = toNumber(v);
  return n !== undefined && typeof v === 'object' ? n : v;
}

export function decodePayload(bytes: Uint8Array): { ok: true; payload: Payload } | { ok: false; reason: string } {
  let raw: UPayload;
  try {
    raw = codec.decodePayload(bytes);
  } catch (err) {
    return { ok: false, reason: `not a Sparkplug B payload (${(err as Error).message})` };
  }
  const seq = toNumber(raw.seq);
  const timestamp = toNumber(raw.timestamp);
  const metrics = (raw.metrics ?? []).map((m) => {
    const alias = toNumber(m.alias);
    const ts = toNumber(m.timestamp);
    return {
      ...(m.name ? { name: m.name } : {}),
      ...(alias !== undefined ? { alias } : {}),
      ...(m.type ? { type: String(m.type) } : {}),
      value: scalar(m.value),
      ...(ts !== undefined ? { timestamp: ts } : {}),
      ...(m.isNull ? { isNull: true } : {}),
    };
  });
  return { ok: true, payload: { ...(seq !== undefined ? { seq } : {}), ...(timestamp !== undefined ? { timestamp } : {}), metrics } };
}

export function encodePayload(p: UPayload): Buffer {
  return Buffer.from(codec.encodePayload(p));
}

/** Sparkplug 3.0: a host's rebirth request, NCMD with metric 'Node Control/Rebirth' = true. */
export function rebirthRequest(now: number): Buffer {
  return encodePayload({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
}
