import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readTlsFiles } from '@tsunagaru/broker';
import { configError, IngestError } from './errors.js';
import { loadStorageConfig, type StorageConfig } from './storage/store-config.js';
import { loadApiSettings, type ApiSettings } from './api/api-settings.js';
import { loadDuckDbSettings, type DuckDbSettings } from './storage/duckdb/duckdb-config.js';
import { loadHistorySettings, type HistorySettings } from './storage/duckdb/history/history-config.js';

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
  /**
   * Env INGEST_SHARE_GROUP: when set, the subscriber speaks MQTT 5 and subscribes `$share/<group>/` + each
   * filter, so several workers share the feed (ingest/README.md "Scale-out: shared subscriptions").
   */
  shareGroup?: string | undefined;
  /**
   * Env INGEST_CLIENT_ID, default MQTT_USERNAME (`tsunagaru-ingest`). The broker keeps a persistent session
   * per client id, holding what the worker has not acknowledged: every worker needs its own, kept across
   * restarts.
   */
  clientId: string;
  /** Env INGEST_ALERTS `on` | `off`; default on, but off with INGEST_SHARE_GROUP (a worker sees only a share of each device). */
  alerts: boolean;
  /** Env HTTP_MAX_CONNECTIONS, HTTP_*_TIMEOUT_MS, API_EXPORTS_* (api/api-settings.ts). */
  api: ApiSettings;
  /** Env DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, API_READERS, API_READ_TIMEOUT_MS (storage/duckdb/duckdb-config.ts). */
  duckdb: DuckDbSettings;
  /** Env RAW_RETENTION_DAYS, ARCHIVE_RETENTION_DAYS, ROLLUP_RETENTION_DAYS (storage/duckdb/history/history-config.ts). */
  history: HistorySettings;
  /**
   * Env DEVICE_CLOCK_MAX_SKEW_SEC, default 300: telemetry and events stamped further ahead of the server
   * clock are dead-lettered (a wrong device clock), and "latest" never shows a value from beyond it.
   */
  maxClockSkewMs: number;
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

/** MQTT 5 §4.8.2: a share name must not contain `/`, `+` or `#`. */
function loadShareGroup(env: NodeJS.ProcessEnv): string | undefined {
  const group = env.INGEST_SHARE_GROUP;
  if (group === undefined || group === '') return undefined;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw configError('INGEST_SHARE_GROUP', `must be 1-64 of A-Z a-z 0-9 _ - (a share name may not hold /, + or #), got "${group}"`);
  return group;
}

function loadShareSettings(env: NodeJS.ProcessEnv, storage: StorageConfig, username: string): Pick<IngestConfig, 'shareGroup' | 'clientId' | 'alerts'> {
  const shareGroup = loadShareGroup(env);
  const clientId = env.INGEST_CLIENT_ID || username;
  // The same pattern as device ids: it also keeps + and # out (mosquitto's pattern ACLs refuse those).
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(clientId)) throw configError('INGEST_CLIENT_ID', `must be 1-64 of A-Z a-z 0-9 _ -, got "${clientId}"`);
  const rawAlerts = env.INGEST_ALERTS;
  if (rawAlerts !== undefined && rawAlerts !== '' && rawAlerts !== 'on' && rawAlerts !== 'off') throw configError('INGEST_ALERTS', `must be on or off, got "${rawAlerts}"`);
  if (shareGroup) {
    // Each worker gets only a round-robin share of every device's messages: readings must meet in one store.
    if (!storage.stores.some((s) => s === 'influx-v1' || s === 'influx-v2')) throw configError('STORE', `with INGEST_SHARE_GROUP the readings must go to a shared store: set influx-v1 or influx-v2, got "${storage.stores.join(',')}"`);
    // A worker follows the registry read-only (ingest/src/main.ts), so it cannot register its own account.
    if (!env.MQTT_PASSWORD) throw configError('MQTT_PASSWORD', 'with INGEST_SHARE_GROUP set the password of the ingest account in the broker (mosquitto: deploy/scripts/mosquitto-auth.ts)');
    if (storage.stores.includes('duckdb')) throw configError('STORE', 'with INGEST_SHARE_GROUP drop duckdb: a worker\'s embedded store would hold only its share of each device, and its API would show that share as if it were all');
  }
  return { shareGroup, clientId, alerts: rawAlerts ? rawAlerts === 'on' : !shareGroup };
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
  const mqttUsername = env.MQTT_USERNAME || 'tsunagaru-ingest';
  const storage = loadStorageConfig(env);
  const skewRaw = env.DEVICE_CLOCK_MAX_SKEW_SEC;
  const skewSec = skewRaw === undefined || skewRaw === '' ? 300 : Number(skewRaw);
  if (!Number.isInteger(skewSec) || skewSec < 1 || skewSec > 86_400) throw configError('DEVICE_CLOCK_MAX_SKEW_SEC', `must be whole seconds 1-86400 (default 300), got "${skewRaw}"`);
  return Object.freeze({
    dataDir: env.DATA_DIR || './data',
    httpHost: env.HTTP_HOST || '127.0.0.1',
    httpPort: parsePort('HTTP_PORT', env.HTTP_PORT, 8080),
    mqttUrl,
    mqttUsername,
    mqttPassword: env.MQTT_PASSWORD || undefined,
    adminToken: token || randomBytes(24).toString('base64url'),
    adminTokenGenerated: !token,
    logLevel,
    alertRulesFile: env.ALERT_RULES_FILE || undefined,
    storage,
    httpTls: loadHttpTls(env),
    mqttTlsCa: loadMqttCa(env),
    ...loadShareSettings(env, storage, mqttUsername),
    api: loadApiSettings(env),
    duckdb: loadDuckDbSettings(env),
    history: loadHistorySettings(env),
    maxClockSkewMs: skewSec * 1000,
  });
}
