import {
  buildTopic,
  MAX_PAYLOAD_BYTES,
  MAX_SAMPLES,
  validateMessage,
  type BirthState,
  type Channel,
  type CommandAck,
  type DeathState,
  type DeviceEvent,
  type DeviceType,
  type EventType,
  type SampleByType,
  type Telemetry,
} from '@tsunagaru/firmware-contracts';
import { EdgeAgentError } from './errors.js';

/** Pure builders of contract v1 payloads; the session adds transport and numbering. */

export interface Envelope {
  id: string;
  boot: number;
  seq: number;
}

export function telemetryPayload<T extends DeviceType>(env: Envelope, samples: readonly SampleByType[T][], replay = false): Telemetry<T> {
  const first = samples[0];
  if (!first) throw new EdgeAgentError('EDGE_ERR_INVALID_PAYLOAD', 'samples: must have at least 1 item', { deviceId: env.id });
  if (samples.length > MAX_SAMPLES) {
    throw new EdgeAgentError('EDGE_ERR_INVALID_PAYLOAD', `samples: must have at most ${MAX_SAMPLES} items, got ${samples.length}`, { deviceId: env.id });
  }
  // Contract v1 "Envelope": ts is the time of the first sample.
  return { v: 1, id: env.id, boot: env.boot, seq: env.seq, ts: first.ts, ...(replay ? { replay: true } : {}), samples: [...samples] };
}

export function eventPayload<T extends DeviceType>(env: Envelope, ts: number, type: EventType<T>, detail?: Record<string, unknown>, replay = false): DeviceEvent<T> {
  return { v: 1, id: env.id, boot: env.boot, seq: env.seq, ts, ...(replay ? { replay: true } : {}), type, ...(detail ? { detail } : {}) };
}

export interface BirthFields {
  fw: string;
  model: string;
  sampleSec: number;
}

export function birthPayload(id: string, boot: number, ts: number, fields: BirthFields): BirthState {
  return { v: 1, id, state: 'online', boot, ts, fw: fields.fw, model: fields.model, sampleSec: fields.sampleSec };
}

/** The will has no ts (the broker sends it at an unknown time); a graceful death knows its time. */
export function deathPayload(id: string, boot: number, ts?: number): DeathState {
  return { v: 1, id, state: 'offline', boot, ...(ts === undefined ? {} : { ts }) };
}

export function ackPayload(cmdId: string, ts: number, outcome: { ok: boolean; result?: Record<string, unknown>; error?: string }): CommandAck {
  return {
    v: 1,
    cmdId,
    ok: outcome.ok,
    ...(outcome.result ? { result: outcome.result } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ts,
  };
}

export interface EncodedMessage {
  topic: string;
  payload: Buffer;
}

/**
 * Serialises a payload for its topic. With `validate`, the full contract check runs here so a bug in the
 * sample builder (a simulator, a Modbus mapping) fails at its source with the field named, instead of
 * being rejected later by the ingest. The size limit is always checked: the broker would refuse it anyway.
 */
export function encode(type: DeviceType, deviceId: string, channel: Channel, payload: object, validate: boolean): EncodedMessage {
  const topic = buildTopic(type, deviceId, channel);
  const bytes = Buffer.from(JSON.stringify(payload), 'utf8');
  if (bytes.byteLength > MAX_PAYLOAD_BYTES) {
    throw new EdgeAgentError('EDGE_ERR_INVALID_PAYLOAD', `${channel}: ${bytes.byteLength} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit; send fewer samples per message`, { deviceId });
  }
  if (validate) {
    const result = validateMessage(topic, bytes);
    if (!result.ok) {
      throw new EdgeAgentError('EDGE_ERR_INVALID_PAYLOAD', `device "${deviceId}" built an invalid ${channel} message: ${result.reason}`, {
        deviceId,
        details: result.errors,
      });
    }
  }
  return { topic, payload: bytes };
}
