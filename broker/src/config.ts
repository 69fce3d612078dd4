/**
 * The broker's configuration: one zod schema of every environment variable it reads (brokerEnv: the
 * listener, TLS, the cluster, and every protective limit), checked once at start, then frozen. Every
 * problem names the variable and what it must be; an empty variable counts as unset. `npm start` reads the
 * same schema (scripts/start-env.ts), so the single-node system honours every one of these.
 */
import { hostname } from 'node:os';
import { envVar, parseEnv, type EnvValues } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import type { BrokerOptions } from './broker-types.js';
import { BrokerError } from './errors.js';
import type { TlsListenOptions } from './listeners.js';
import { redactUrl } from './redact-url.js';
import { readTlsFiles } from './tls.js';

export { redactUrl } from './redact-url.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const HOST = /^[A-Za-z0-9.:_-]+$/;
const port = () => envVar.int({ max: 65_535, message: 'must be an integer 0..65535' }).optional();
/** A limit: a non-negative integer of at most 12 digits, at least `min`. */
const count = (min = 0) => envVar.int({ min, max: 999_999_999_999, message: 'must be a non-negative integer' }).optional();

/** The limits' variables (broker/README.md "Limits"); createBroker applies the defaults of those not set. */
const limitsEnv = {
  MQTT_MAX_CONNECTIONS: count(1),
  MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS: count(1),
  MQTT_CONNECT_TIMEOUT_SEC: count(1),
  /** MQTT 3.1.1 servers must accept 23 [MQTT-3.1.3-5]. */
  MQTT_MAX_CLIENT_ID_LENGTH: count(23),
  MQTT_DEVICE_MSGS_PER_SEC: count(),
  MQTT_DEVICE_BYTES_PER_SEC: count(),
  MQTT_AUTH_FAILURES_PER_DEVICE_ADDRESS: count(1),
  MQTT_AUTH_FAILURES_PER_ADDRESS: count(1),
  MQTT_AUTH_LOCKOUT_SEC: count(1),
  MQTT_AUTH_CONCURRENCY: count(1),
  MQTT_AUTH_QUEUE: count(),
  MQTT_AUTH_CACHE_SIZE: count(),
  MQTT_AUTH_CACHE_TTL_SEC: count(1),
  MQTT_LOG_LINES_PER_ADDRESS_PER_MIN: count(),
  MQTT_LOG_LINES_PER_SEC: count(),
  MQTT_PERSISTENT_SESSIONS_PER_DEVICE: count(1),
  MQTT_QUEUED_COMMANDS_PER_SESSION: count(),
};

/** Every variable the broker reads (`npm run broker`). */
export const brokerEnv = {
  DATA_DIR: envVar.text().optional(),
  MQTT_PORT: port(),
  MQTT_HOST: envVar.pattern(HOST, 'must be an IP address or host name').optional(),
  LOG_LEVEL: envVar.oneOf(LOG_LEVELS).optional(),
  MQTT_TLS_CERT: envVar.text().optional(),
  MQTT_TLS_KEY: envVar.text().optional(),
  MQTT_TLS_CA: envVar.text().optional(),
  MQTT_TLS_CLIENT_CERTS: envVar.oneOf(['off', 'optional', 'required'], 'must be off, optional or required').optional(),
  MQTTS_PORT: port(),
  MQTTS_HOST: envVar.pattern(HOST, 'must be an IP address or host name').optional(),
  // A Redis URL may hold a password: a problem never quotes it (clusterFrom redacts it).
  BROKER_REDIS_URL: z.string().optional(),
  BROKER_HEARTBEAT_MS: count(100),
  BROKER_ID: envVar.pattern(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_" or "-"').optional(),
  ...limitsEnv,
};

export type BrokerEnv = EnvValues<typeof brokerEnv>;

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

/** The protective limits, as createBroker takes them; only those whose variables are set. */
export type BrokerLimits = Pick<BrokerOptions, (typeof LIMIT_KEYS)[number]>;

/**
 * The standalone broker's configuration. The limits (connection caps, timeouts, lockouts, password
 * checks, log budget, sessions) appear only for the variables that are set.
 */
export interface BrokerConfig extends BrokerLimits {
  /** DATA_DIR: holds `registry/devices.jsonl`. Default `./data`. */
  dataDir: string;
  /** MQTT_PORT: TCP port, 0..65535 (0 = any free port). Default 1883. */
  port: number;
  /**
   * MQTT_HOST: address to bind. Default 127.0.0.1: this listener has no TLS, so exposing it to a
   * network is a deliberate act (MQTT_HOST=0.0.0.0, ideally behind a TLS-terminating proxy).
   */
  host: string;
  /** LOG_LEVEL: a pino level. Default info. */
  logLevel: (typeof LOG_LEVELS)[number];
  /**
   * mqtts listener, when MQTT_TLS_CERT and MQTT_TLS_KEY name PEM files (read once here). MQTTS_PORT
   * (default 8883), MQTTS_HOST (default MQTT_HOST), MQTT_TLS_CA (PEM bundle that signs device
   * certificates), MQTT_TLS_CLIENT_CERTS off | optional | required (default off; needs the CA).
   */
  tls?: { port: number; host: string; options: TlsListenOptions };
  /**
   * Cluster over Redis, when BROKER_REDIS_URL is set (redis://[:password@]host[:port][/db], or rediss://):
   * several broker processes share subscriptions, sessions, retained messages and wills. Without it
   * the broker keeps everything in memory, as a single node. BROKER_HEARTBEAT_MS (default 5000): how
   * often a node announces itself; a node silent for 3 heartbeats is dead and its devices' wills are
   * published by the others within about 4 more.
   */
  cluster?: { redisUrl: string; heartbeatIntervalMs: number };
  /**
   * BROKER_ID: this node's id (aedes `id`; in Redis keys and $SYS topics, so letters, digits, `.`, `_`,
   * `-` only). Default in cluster mode `${hostname}-${pid}`; without a cluster, random.
   */
  brokerId?: string;
}

function configError(variable: string, message: string): BrokerError {
  return new BrokerError('BROKER_ERR_CONFIG', `${variable}: ${message}`);
}

/** `{ key: value }` for each value that is set, or undefined when none is. */
function group<T extends object>(fields: { [K in keyof T]: T[K] | undefined }): T | undefined {
  const set = Object.entries(fields).filter(([, v]) => v !== undefined);
  return set.length > 0 ? (Object.fromEntries(set) as T) : undefined;
}

/** Just the limits of a larger object (e.g. the whole BrokerConfig), to pass to createBroker. */
export function limitsOf(source: BrokerLimits): BrokerLimits {
  return Object.fromEntries(LIMIT_KEYS.filter((k) => source[k] !== undefined).map((k) => [k, source[k]])) as BrokerLimits;
}

/** The limits from the parsed variables: only those set (createBroker applies the defaults). */
export function brokerLimitsFrom(v: BrokerEnv): BrokerLimits {
  const ms = (sec: number | undefined) => (sec === undefined ? undefined : sec * 1000);
  return limitsOf({
    maxConnections: v.MQTT_MAX_CONNECTIONS,
    maxUnauthenticatedPerAddress: v.MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS,
    connectTimeoutMs: ms(v.MQTT_CONNECT_TIMEOUT_SEC),
    maxClientIdLength: v.MQTT_MAX_CLIENT_ID_LENGTH,
    publishLimits: group({ messagesPerSecond: v.MQTT_DEVICE_MSGS_PER_SEC, bytesPerSecond: v.MQTT_DEVICE_BYTES_PER_SEC }),
    authThrottle: group({ maxFailuresPerPair: v.MQTT_AUTH_FAILURES_PER_DEVICE_ADDRESS, maxFailuresPerAddress: v.MQTT_AUTH_FAILURES_PER_ADDRESS, lockoutMs: ms(v.MQTT_AUTH_LOCKOUT_SEC) }),
    passwordCheck: group({ maxConcurrent: v.MQTT_AUTH_CONCURRENCY, maxQueued: v.MQTT_AUTH_QUEUE, cacheSize: v.MQTT_AUTH_CACHE_SIZE, cacheTtlMs: ms(v.MQTT_AUTH_CACHE_TTL_SEC) }),
    connectionLog: group({ linesPerAddressPerMinute: v.MQTT_LOG_LINES_PER_ADDRESS_PER_MIN, linesPerSecond: v.MQTT_LOG_LINES_PER_SEC }),
    sessionLimits: group({ maxPersistentPerDevice: v.MQTT_PERSISTENT_SESSIONS_PER_DEVICE, maxQueuedPerSession: v.MQTT_QUEUED_COMMANDS_PER_SESSION }),
  });
}

/** The mqtts listener, when certificate files are named. */
export function tlsFrom(v: BrokerEnv, host: string): BrokerConfig['tls'] {
  const files = readTlsFiles({ cert: v.MQTT_TLS_CERT, key: v.MQTT_TLS_KEY, ca: v.MQTT_TLS_CA }, { cert: 'MQTT_TLS_CERT', key: 'MQTT_TLS_KEY', ca: 'MQTT_TLS_CA' });
  const mode = v.MQTT_TLS_CLIENT_CERTS ?? 'off';
  if (!files) {
    if (mode !== 'off') throw configError('MQTT_TLS_CLIENT_CERTS', 'needs MQTT_TLS_CERT, MQTT_TLS_KEY and MQTT_TLS_CA');
    return undefined;
  }
  if (mode !== 'off' && !files.ca) throw configError('MQTT_TLS_CA', `required when MQTT_TLS_CLIENT_CERTS is ${mode}`);
  return { port: v.MQTTS_PORT ?? 8883, host: v.MQTTS_HOST ?? host, options: { ...files, clientCertificates: mode } };
}

/** The Redis cluster (when BROKER_REDIS_URL is set) and this node's id. */
export function clusterFrom(v: BrokerEnv): Pick<BrokerConfig, 'cluster' | 'brokerId'> {
  const id = v.BROKER_ID;
  const text = v.BROKER_REDIS_URL;
  if (text === undefined) return id ? { brokerId: id } : {};
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw configError('BROKER_REDIS_URL', `must be redis://host:port[/db], got "${redactUrl(text)}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw configError('BROKER_REDIS_URL', `must start with redis:// or rediss://, got "${redactUrl(text)}"`);
  if (url.hostname === '') throw configError('BROKER_REDIS_URL', `has no host: "${redactUrl(text)}"`);
  if (!/^(\/([0-9]{1,2})?)?$/.test(url.pathname) || url.search !== '' || url.hash !== '') {
    throw configError('BROKER_REDIS_URL', `the path may only be a database number (/0../99), got "${redactUrl(text)}"`);
  }
  const brokerId = id ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}-${process.pid}`;
  return { cluster: { redisUrl: text, heartbeatIntervalMs: v.BROKER_HEARTBEAT_MS ?? 5000 }, brokerId };
}

/** Parses the broker's variables (any subset of brokerEnv), or throws every problem, one line each. */
export function parseBrokerEnv<S extends z.ZodRawShape>(shape: S, env: Readonly<Record<string, string | undefined>>): Partial<z.output<z.ZodObject<S>>> {
  const result = parseEnv(shape, env);
  if (!result.ok) throw new BrokerError('BROKER_ERR_CONFIG', result.problems.join('\n'), { details: result.problems });
  return result.value as Partial<z.output<z.ZodObject<S>>>;
}

/** The configuration from the parsed variables; frozen. */
export function brokerConfigFrom(v: BrokerEnv): Readonly<BrokerConfig> {
  const host = v.MQTT_HOST ?? '127.0.0.1';
  const tls = tlsFrom(v, host);
  return Object.freeze({
    dataDir: v.DATA_DIR ?? './data',
    port: v.MQTT_PORT ?? 1883,
    host,
    logLevel: v.LOG_LEVEL ?? 'info',
    ...(tls ? { tls } : {}),
    ...brokerLimitsFrom(v),
    ...clusterFrom(v),
  });
}

/** Reads and validates the environment once (brokerEnv); every error names the variable at fault. */
export function loadBrokerConfig(env: Readonly<Record<string, string | undefined>>): Readonly<BrokerConfig> {
  return brokerConfigFrom(parseBrokerEnv(brokerEnv, env));
}

/** The limits alone, from an environment (tests); a process reads them with the rest of its schema. */
export function loadBrokerLimits(env: Readonly<Record<string, string | undefined>>): BrokerLimits {
  return brokerLimitsFrom(parseBrokerEnv(limitsEnv, env));
}
