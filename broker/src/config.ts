import { hostname } from 'node:os';
import { BrokerError } from './errors.js';
import { count, loadBrokerLimits, type BrokerLimits } from './limits-config.js';
import type { TlsListenOptions } from './listeners.js';
import { readTlsFiles } from './tls.js';

/**
 * The standalone broker's configuration, read once from the environment at start, then frozen. The
 * limits (BrokerLimits: connection caps, timeouts, lockouts, password checks, log budget, sessions) come
 * from limits-config.ts, which `npm start` reads too; only the variables that are set appear.
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
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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
   * BROKER_ID: this node's id in the cluster (aedes `id`; in Redis keys and $SYS topics, so letters,
   * digits, `.`, `_`, `-` only). Default in cluster mode `${hostname}-${pid}`; without a cluster, random.
   */
  brokerId?: string;
}

function port(variable: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw configError(variable, `must be an integer 0..65535, got "${text}"`);
  return Number(text);
}

function loadTls(env: Record<string, string | undefined>, host: string): BrokerConfig['tls'] {
  const files = readTlsFiles(
    { cert: env.MQTT_TLS_CERT, key: env.MQTT_TLS_KEY, ca: env.MQTT_TLS_CA },
    { cert: 'MQTT_TLS_CERT', key: 'MQTT_TLS_KEY', ca: 'MQTT_TLS_CA' },
  );
  const mode = env.MQTT_TLS_CLIENT_CERTS || 'off';
  if (!['off', 'optional', 'required'].includes(mode)) throw configError('MQTT_TLS_CLIENT_CERTS', `must be off, optional or required, got "${mode}"`);
  if (!files) {
    if (mode !== 'off') throw configError('MQTT_TLS_CLIENT_CERTS', 'needs MQTT_TLS_CERT, MQTT_TLS_KEY and MQTT_TLS_CA');
    return undefined;
  }
  if (mode !== 'off' && !files.ca) throw configError('MQTT_TLS_CA', `required when MQTT_TLS_CLIENT_CERTS is ${mode}`);
  const tlsHost = env.MQTTS_HOST || host;
  if (!/^[A-Za-z0-9.:_-]+$/.test(tlsHost)) throw configError('MQTTS_HOST', `must be an IP address or host name, got "${tlsHost}"`);
  return { port: port('MQTTS_PORT', env.MQTTS_PORT || '8883'), host: tlsHost, options: { ...files, clientCertificates: mode as 'off' | 'optional' | 'required' } };
}

function loadCluster(env: Record<string, string | undefined>): Pick<BrokerConfig, 'cluster' | 'brokerId'> {
  const id = env.BROKER_ID;
  if (id !== undefined && id !== '' && !/^[A-Za-z0-9._-]{1,128}$/.test(id)) throw configError('BROKER_ID', `must be 1-128 letters, digits, ".", "_" or "-", got "${id}"`);
  const text = env.BROKER_REDIS_URL;
  if (text === undefined || text === '') return id ? { brokerId: id } : {};
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
  const heartbeatIntervalMs = count(env, 'BROKER_HEARTBEAT_MS') ?? 5000;
  if (heartbeatIntervalMs < 100) throw configError('BROKER_HEARTBEAT_MS', `must be at least 100 (ms), got ${heartbeatIntervalMs}`);
  const brokerId = id || `${hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}-${process.pid}`;
  return { cluster: { redisUrl: text, heartbeatIntervalMs }, brokerId };
}

/** A Redis URL for logs and errors: the password never leaves the process. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}

const LOG_LEVELS: readonly BrokerConfig['logLevel'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function configError(variable: string, message: string): BrokerError {
  return new BrokerError('BROKER_ERR_CONFIG', `${variable}: ${message}`);
}

/** Reads and validates the environment; every error names the variable at fault. */
export function loadBrokerConfig(env: Record<string, string | undefined>): Readonly<BrokerConfig> {
  const dataDir = env.DATA_DIR ?? './data';
  if (dataDir.trim() === '') throw configError('DATA_DIR', 'must not be empty');

  const portText = env.MQTT_PORT ?? '1883';
  port('MQTT_PORT', portText);

  const host = env.MQTT_HOST ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw configError('MQTT_HOST', `must be an IP address or host name, got "${host}"`);

  const logLevel = (env.LOG_LEVEL ?? 'info') as BrokerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw configError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const tls = loadTls(env, host);
  const limits = loadBrokerLimits(env);
  const cluster = loadCluster(env);
  return Object.freeze({
    dataDir,
    port: Number(portText),
    host,
    logLevel,
    ...(tls ? { tls } : {}),
    ...limits,
    ...cluster,
  });
}
