import type { IClientOptions } from 'mqtt';
import { BOUNDS, isDeviceType, isValidDeviceId, type DeviceType } from '@tsunagaru/firmware-contracts';
import { EdgeAgentError } from './errors.js';
import type { IdentityStore } from './identity-store.js';
import { silentLogger, type Logger } from './logger.js';

export interface DeviceSessionOptions<T extends DeviceType = DeviceType> {
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883`, `ws://…` or `wss://…`. */
  url: string;
  /** Contract deviceId; also the MQTT clientId and username. */
  deviceId: string;
  type: T;
  /** The device secret issued at provisioning, sent as the MQTT password. Never logged. */
  secret: string;
  /** Firmware version announced in the birth (1–64 characters). */
  fw: string;
  /** Hardware model announced in the birth (1–64 characters). */
  model: string;
  /** Sampling interval announced in the birth, seconds, integer 1–86400. */
  sampleSec: number;
  /** Boot counter and seq; FileIdentityStore on devices, MemoryIdentityStore in simulators. */
  identity: IdentityStore;
  /** Epoch ms for every `ts` the session stamps (birth, death, acks). Default `Date.now`. */
  clock?: () => number;
  /** Default: silent. */
  logger?: Logger;
  /** Check every outgoing payload against contract v1 before sending. Default: true unless NODE_ENV is "production". */
  validateOutgoing?: boolean;
  /** How long start() waits for the first accepted connection, ms. Default 30000. */
  startTimeoutMs?: number;
  /** Delay between reconnect attempts, ms. Default 2000. */
  reconnectPeriodMs?: number;
  /** MQTT keepalive, seconds. Default 60. */
  keepaliveSec?: number;
  /** How long a graceful stop waits for unacknowledged messages, ms. Default 5000. */
  drainTimeoutMs?: number;
}

export type ResolvedSessionOptions<T extends DeviceType> = Readonly<Required<DeviceSessionOptions<T>>>;

const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

function invalid(field: string, message: string, deviceId?: string): EdgeAgentError {
  return new EdgeAgentError('EDGE_ERR_INVALID_OPTIONS', `device session: ${field}: ${message}`, deviceId ? { deviceId } : {});
}

function checkLabel(field: string, value: unknown, deviceId: string): void {
  if (typeof value !== 'string' || value.length < 1 || value.length > 64) throw invalid(field, 'must be a string of 1 to 64 characters', deviceId);
}

function checkPositiveInt(field: string, value: number, deviceId: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw invalid(field, `must be a positive integer, got ${String(value)}`, deviceId);
}

/** Validated once at construction, then frozen: a bad option fails before any socket is opened. */
export function resolveSessionOptions<T extends DeviceType>(o: DeviceSessionOptions<T>): ResolvedSessionOptions<T> {
  if (typeof o.deviceId !== 'string' || !isValidDeviceId(o.deviceId)) throw invalid('deviceId', `must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(o.deviceId)}`);
  const id = o.deviceId;
  if (!isDeviceType(o.type)) throw invalid('type', `unknown device type ${JSON.stringify(o.type)}`, id);
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw invalid('url', `not a URL: ${JSON.stringify(o.url)}`, id);
  }
  if (!URL_PROTOCOLS.has(url.protocol)) throw invalid('url', `unsupported protocol "${url.protocol}"; use mqtt:, mqtts:, ws: or wss:`, id);
  if (typeof o.secret !== 'string' || o.secret.length === 0) throw invalid('secret', `missing for device "${id}"; pass the secret issued at provisioning`, id);
  checkLabel('fw', o.fw, id);
  checkLabel('model', o.model, id);
  const { min, max } = BOUNDS.sampleSec;
  if (!Number.isInteger(o.sampleSec) || o.sampleSec < min || o.sampleSec > max) throw invalid('sampleSec', `must be an integer ${min}–${max}, got ${String(o.sampleSec)}`, id);
  if (!o.identity) throw invalid('identity', 'an IdentityStore is required', id);
  const resolved: Required<DeviceSessionOptions<T>> = {
    ...o,
    clock: o.clock ?? Date.now,
    logger: o.logger ?? silentLogger,
    validateOutgoing: o.validateOutgoing ?? process.env.NODE_ENV !== 'production',
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
    reconnectPeriodMs: o.reconnectPeriodMs ?? 2_000,
    keepaliveSec: o.keepaliveSec ?? 60,
    drainTimeoutMs: o.drainTimeoutMs ?? 5_000,
  };
  checkPositiveInt('startTimeoutMs', resolved.startTimeoutMs, id);
  checkPositiveInt('reconnectPeriodMs', resolved.reconnectPeriodMs, id);
  checkPositiveInt('keepaliveSec', resolved.keepaliveSec, id);
  checkPositiveInt('drainTimeoutMs', resolved.drainTimeoutMs, id);
  return Object.freeze(resolved);
}

/** MQTT connect options for a device session (contract v1: clientId = username = deviceId, will = death). */
export function mqttClientOptions(o: ResolvedSessionOptions<DeviceType>, will: { topic: string; payload: Buffer }): IClientOptions {
  return {
    protocolVersion: 4,
    // A persistent session keeps our cmd subscription and queued commands across short outages.
    clean: false,
    clientId: o.deviceId,
    username: o.deviceId,
    password: o.secret,
    keepalive: o.keepaliveSec,
    reconnectPeriod: o.reconnectPeriodMs,
    connectTimeout: Math.min(o.startTimeoutMs, 10_000),
    resubscribe: true,
    will: { topic: will.topic, payload: will.payload, qos: 1, retain: true },
  };
}
