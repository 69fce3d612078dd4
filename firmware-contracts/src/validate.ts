import type { z } from 'zod';
import { commandAckSchema, commandSchema, COMMAND_DEVICE_TYPES, type Command, type CommandAck } from './command.js';
import { MAX_PAYLOAD_BYTES } from './common.js';
import { eventSchemas, type DeviceEvent } from './event.js';
import { formatIssues } from './format-issues.js';
import { stateSchema, type DeviceState } from './state.js';
import { telemetrySchemas, type Telemetry } from './telemetry.js';
import { parseTopic, type Channel, type DeviceType, type ParsedTopic } from './topics.js';

interface Addressed {
  type: DeviceType;
  deviceId: string;
}

export type ContractMessage =
  | (Addressed & { channel: 'telemetry'; payload: Telemetry })
  | (Addressed & { channel: 'event'; payload: DeviceEvent })
  | (Addressed & { channel: 'state'; payload: DeviceState })
  | (Addressed & { channel: 'cmd'; payload: Command })
  | (Addressed & { channel: 'cmd/ack'; payload: CommandAck });

export type ValidationResult =
  | { ok: true; message: ContractMessage }
  | { ok: false; topic?: ParsedTopic; errors: string[]; reason: string };

/** The zod schema a payload on this type and channel must satisfy. */
export function schemaFor(type: DeviceType, channel: Channel): z.ZodType {
  switch (channel) {
    case 'telemetry':
      return telemetrySchemas[type];
    case 'event':
      return eventSchemas[type];
    case 'state':
      return stateSchema;
    case 'cmd':
      return commandSchema;
    case 'cmd/ack':
      return commandAckSchema;
  }
}

function fail(errors: string[], topic?: ParsedTopic): ValidationResult {
  return { ok: false, errors, reason: errors.join('; '), ...(topic ? { topic } : {}) };
}

// fatal: Buffer#toString would silently turn malformed bytes into U+FFFD and accept the message.
// ignoreBOM keeps a byte-order mark in the text so JSON.parse rejects it, as it already does for string
// payloads; RFC 8259 §8.1 forbids senders to add one.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a UTF-8 JSON payload, enforcing the 64 KiB limit (contract v1, "Topics"). */
export function parsePayload(payload: Uint8Array | string): { ok: true; value: unknown } | { ok: false; error: string } {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (bytes > MAX_PAYLOAD_BYTES) return { ok: false, error: `payload: ${bytes} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit` };
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    return { ok: false, error: 'payload: not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    return { ok: false, error: `payload: invalid JSON (${(err as Error).message})` };
  }
  const checkStrings = SURROGATE_ESCAPE.test(text) || (typeof payload === 'string' && RAW_SURROGATE.test(text));
  const problem = structuralProblem(value, 0, checkStrings);
  if (problem !== undefined) return { ok: false, error: `payload: ${problem}` };
  return { ok: true, value };
}

/** Deepest nesting of arrays/objects accepted (a ring-node sample is 5 deep; README "Decisions"). */
export const MAX_JSON_DEPTH = 32;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What makes a parsed payload unstorable whatever its schema, found by the fuzz suite as poison messages
 * (a store refusing them on every retry): nesting deeper than MAX_JSON_DEPTH (JSON.stringify and the
 * store recurse, and overflow the stack), and a JSON escape of an unpaired surrogate ("\ud800"), which
 * no UTF-8 text can carry. The walk recurses only below MAX_JSON_DEPTH, so it cannot overflow; it
 * allocates nothing, as it runs on every message (bench ingest-e2e).
 */
function structuralProblem(v: unknown, depth: number, checkStrings: boolean): string | undefined {
  if (typeof v === 'string') {
    return checkStrings && UNPAIRED_SURROGATE.test(v) ? `string ${JSON.stringify(v.slice(0, 40))} contains an unpaired UTF-16 surrogate escape; strings must be valid Unicode` : undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const problem = structuralProblem(v[i], depth + 1, checkStrings);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (checkStrings && UNPAIRED_SURROGATE.test(k)) return `key ${JSON.stringify(k.slice(0, 40))} contains an unpaired UTF-16 surrogate escape; strings must be valid Unicode`;
    const problem = structuralProblem(o[k], depth + 1, checkStrings);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Whether a parsed string of `text` may hold a surrogate: decoded UTF-8 cannot, so only a `\uD800`-style
 * escape can put one there (or the text itself, when it was given as a string).
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const RAW_SURROGATE = /[\ud800-\udfff]/;

/**
 * Rules that span fields or the topic, which a per-payload JSON Schema cannot express. Firmware teams find
 * them in the README; the ingest applies them after the schema.
 */
function crossFieldErrors(topic: ParsedTopic, payload: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (topic.channel !== 'cmd' && topic.channel !== 'cmd/ack' && payload.id !== topic.deviceId) {
    errors.push(`id: must equal the topic's deviceId "${topic.deviceId}", got ${JSON.stringify(payload.id)}`);
  }
  if (topic.channel === 'cmd') {
    const cmd = payload as Command;
    const only = COMMAND_DEVICE_TYPES[cmd.name];
    if (only && !only.includes(topic.type)) errors.push(`name: "${cmd.name}" applies only to ${only.join(', ')} devices`);
    if (cmd.name === 'replay' && cmd.args.fromTs > cmd.args.toTs) errors.push('args.toTs: must be ≥ args.fromTs');
    if (cmd.expiresTs !== undefined && cmd.expiresTs < cmd.ts) errors.push('expiresTs: must be ≥ ts');
  }
  if (topic.channel === 'cmd/ack') {
    const ack = payload as CommandAck;
    if (!ack.ok && !ack.error) errors.push('error: is required when ok is false');
  }
  return errors;
}

/** Validates a payload (already parsed from JSON) against the contract for a parsed topic. */
export function validatePayload(topic: ParsedTopic, value: unknown): ValidationResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail([`payload: must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`], topic);
  }
  const parsed = schemaFor(topic.type, topic.channel).safeParse(value);
  if (!parsed.success) return fail(formatIssues(parsed.error, value), topic);
  const data = parsed.data as Record<string, unknown>;
  const crossErrors = crossFieldErrors(topic, data);
  if (crossErrors.length > 0) return fail(crossErrors, topic);
  return { ok: true, message: { type: topic.type, deviceId: topic.deviceId, channel: topic.channel, payload: data } as ContractMessage };
}

/** Validates an MQTT message (topic + raw payload bytes) against contract v1. Never throws. */
export function validateMessage(topic: string, payload: Uint8Array | string): ValidationResult {
  const t = parseTopic(topic);
  if (!t.ok) return fail([t.reason]);
  const p = parsePayload(payload);
  if (!p.ok) return fail([p.error], t.topic);
  return validatePayload(t.topic, p.value);
}
