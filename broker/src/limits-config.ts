import { BrokerError } from './errors.js';
import type { BrokerOptions } from './broker-types.js';

/**
 * The broker's protective limits, read from the environment: shared by the standalone broker
 * (config.ts, `npm run broker`) and the single-process system (`npm start`, scripts/start.ts), so both
 * honour the same variables. Only what is set appears in the result; createBroker applies the
 * defaults (named here and in broker/README.md). Every error names the variable.
 */
const LIMIT_KEYS = [
  'maxConnections',
  'maxUnauthenticatedPerAddress',
  'connectTimeoutMs',
  'maxClientIdLength',
  'publishLimits',
  'authThrottle',
  'passwordCheck',
  'connectionLog',
  'sessionLimits',
] as const satisfies readonly (keyof BrokerOptions)[];

export type BrokerLimits = Pick<BrokerOptions, (typeof LIMIT_KEYS)[number]>;

/** Just the limits of a larger object (e.g. the whole BrokerConfig), to pass to createBroker. */
export function limitsOf(source: BrokerLimits): BrokerLimits {
  return Object.fromEntries(LIMIT_KEYS.filter((k) => source[k] !== undefined).map((k) => [k, source[k]])) as BrokerLimits;
}

type Env = Record<string, string | undefined>;

function configError(variable: string, message: string): BrokerError {
  return new BrokerError('BROKER_ERR_CONFIG', `${variable}: ${message}`);
}

/** A non-negative integer, or undefined when unset; below `min` is an error naming the variable. */
export function count(env: Env, variable: string, min = 0): number | undefined {
  const text = env[variable];
  if (text === undefined || text === '') return undefined;
  if (!/^[0-9]{1,12}$/.test(text)) throw configError(variable, `must be a non-negative integer, got "${text}"`);
  const n = Number(text);
  if (n < min) throw configError(variable, `must be at least ${min}, got ${n}`);
  return n;
}

/** `{ key: value }` for each value that is set, or undefined when none is. */
function group<T extends object>(fields: { [K in keyof T]: T[K] | undefined }): T | undefined {
  const set = Object.entries(fields).filter(([, v]) => v !== undefined);
  return set.length > 0 ? (Object.fromEntries(set) as T) : undefined;
}

export function loadBrokerLimits(env: Env): BrokerLimits {
  const sec = (variable: string, min: number) => {
    const s = count(env, variable, min);
    return s === undefined ? undefined : s * 1000;
  };
  const limits: BrokerLimits = {
    maxConnections: count(env, 'MQTT_MAX_CONNECTIONS', 1),
    maxUnauthenticatedPerAddress: count(env, 'MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS', 1),
    connectTimeoutMs: sec('MQTT_CONNECT_TIMEOUT_SEC', 1),
    maxClientIdLength: count(env, 'MQTT_MAX_CLIENT_ID_LENGTH', 23), // MQTT 3.1.1 servers must accept 23 [MQTT-3.1.3-5]
    publishLimits: group({ messagesPerSecond: count(env, 'MQTT_DEVICE_MSGS_PER_SEC'), bytesPerSecond: count(env, 'MQTT_DEVICE_BYTES_PER_SEC') }),
    authThrottle: group({
      maxFailuresPerPair: count(env, 'MQTT_AUTH_FAILURES_PER_DEVICE_ADDRESS', 1),
      maxFailuresPerAddress: count(env, 'MQTT_AUTH_FAILURES_PER_ADDRESS', 1),
      lockoutMs: sec('MQTT_AUTH_LOCKOUT_SEC', 1),
    }),
    passwordCheck: group({
      maxConcurrent: count(env, 'MQTT_AUTH_CONCURRENCY', 1),
      maxQueued: count(env, 'MQTT_AUTH_QUEUE'),
      cacheSize: count(env, 'MQTT_AUTH_CACHE_SIZE'),
      cacheTtlMs: sec('MQTT_AUTH_CACHE_TTL_SEC', 1),
    }),
    connectionLog: group({ linesPerAddressPerMinute: count(env, 'MQTT_LOG_LINES_PER_ADDRESS_PER_MIN'), linesPerSecond: count(env, 'MQTT_LOG_LINES_PER_SEC') }),
    sessionLimits: group({ maxPersistentPerDevice: count(env, 'MQTT_PERSISTENT_SESSIONS_PER_DEVICE', 1), maxQueuedPerSession: count(env, 'MQTT_QUEUED_COMMANDS_PER_SESSION') }),
  };
  return limitsOf(limits);
}
