import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readTlsFiles } from '@tsunagaru/broker';
import { configError, IngestError } from './errors.js';
import { loadStorageConfig, type StorageConfig } from './storage/store-config.js';

export interface IngestConfig {
  /** Where the embedded store and registry live. Env DATA_DIR, default `./data`. */
  dataDir: string;
  /** Env HTTP_HOST, default `127.0.0.1` (set 0.0.0.0 to serve other machines). */
  httpHost: string;
  /** Env HTTP_PORT, default 8080; 0 picks a free port. */
  httpPort: number;
  /** Env MQTT_URL, default `mqtt://127.0.0.1:${MQTT_PORT ?? 1883}`. */
  mqttUrl: string;
  /** Env MQTT_USERNAME, default `tsunagaru-ingest`. */
  mqttUsername: string;
  /** Env MQTT_PASSWORD; required when the ingest runs on its own against an external broker. */
  mqttPassword: string | undefined;
  /** Env TSUNAGARU_ADMIN_TOKEN; generated (and printed at start) when absent. */
  adminToken: string;
  adminTokenGenerated: boolean;
  /** Env LOG_LEVEL, default `info`. */
  logLevel: string;
  /** Env ALERT_RULES_FILE: the alert rules (JSON or YAML, ingest/README.md "Alerts"); default: the built-in rules. */
  alertRulesFile?: string | undefined;
  /** Env STORE, INFLUX_*, JOURNAL_MAX_MB, INGEST_BATCH_SIZE, INGEST_BATCH_LINGER_MS (storage/store-config.ts). */
  storage: StorageConfig;
  /** Env HTTP_TLS_CERT + HTTP_TLS_KEY (PEM files, read at start): serve the API over HTTPS. */
  httpTls?: { cert: string; key: string } | undefined;
  /** Env MQTT_TLS_CA (PEM file): the CA to trust for an mqtts:// MQTT_URL with a private certificate. */
  mqttTlsCa?: string | undefined;
}

function loadHttpTls(env: NodeJS.ProcessEnv): IngestConfig['httpTls'] {
  try {
    const files = readTlsFiles({ cert: env.HTTP_TLS_CERT, key: env.HTTP_TLS_KEY }, { cert: 'HTTP_TLS_CERT', key: 'HTTP_TLS_KEY', ca: 'HTTP_TLS_CA' });
    return files ? { cert: files.cert, key: files.key } : undefined;
  } catch (err) {
    throw new IngestError('INGEST_ERR_CONFIG', (err as Error).message);
  }
}

function loadMqttCa(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.MQTT_TLS_CA) return undefined;
  try {
    return readFileSync(env.MQTT_TLS_CA, 'utf8');
  } catch (err) {
    throw configError('MQTT_TLS_CA', `cannot read ${env.MQTT_TLS_CA}: ${(err as Error).message}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parsePort(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw configError(variable, `must be a port number 0-65535, got "${raw}"`);
  return n;
}

/** Reads and checks the ingest's settings once at start; the result is frozen (style: fastify config). */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): Readonly<IngestConfig> {
  const mqttPort = parsePort('MQTT_PORT', env.MQTT_PORT, 1883);
  const mqttUrl = env.MQTT_URL || `mqtt://127.0.0.1:${mqttPort}`;
  if (!/^(mqtts?|tcp|ssl|wss?):\/\//.test(mqttUrl)) throw configError('MQTT_URL', `must start with mqtt://, mqtts://, ws:// or wss://, got "${mqttUrl}"`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw configError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const token = env.TSUNAGARU_ADMIN_TOKEN;
  if (token !== undefined && token !== '' && token.length < 16) throw configError('TSUNAGARU_ADMIN_TOKEN', 'must be at least 16 characters (or unset it to have one generated)');
  return Object.freeze({
    dataDir: env.DATA_DIR || './data',
    httpHost: env.HTTP_HOST || '127.0.0.1',
    httpPort: parsePort('HTTP_PORT', env.HTTP_PORT, 8080),
    mqttUrl,
    mqttUsername: env.MQTT_USERNAME || 'tsunagaru-ingest',
    mqttPassword: env.MQTT_PASSWORD || undefined,
    adminToken: token || randomBytes(24).toString('base64url'),
    adminTokenGenerated: !token,
    logLevel,
    alertRulesFile: env.ALERT_RULES_FILE || undefined,
    storage: loadStorageConfig(env),
    httpTls: loadHttpTls(env),
    mqttTlsCa: loadMqttCa(env),
  });
}
