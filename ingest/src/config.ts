/**
 * The ingest's configuration: one zod schema of every environment variable it reads (ingestEnv, made of
 * its own and those of its parts: storage, API, DuckDB, history retention, integrations), checked once at start, then frozen. Every problem
 * names the variable and what it must be; an empty variable counts as unset.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readTlsFiles } from '@tsunagaru/broker';
import { envVar, type EnvValues } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { apiEnv, apiSettingsFrom, type ApiSettings } from './api/api-settings.js';
import { parseIngestEnv } from './env.js';
import { configError, IngestError } from './errors.js';
import { DEFAULT_DUCKDB_SETTINGS, duckDbEnv, duckDbSettingsFrom, type DuckDbSettings } from './storage/duckdb/duckdb-config.js';
import { storageConfigFrom, storageEnv, type StorageConfig } from './storage/store-config.js';
import { integrationsConfigFrom, integrationsEnv, type IntegrationsConfig } from './integrations/config.js';
import { historyEnv, historySettingsFrom, type HistorySettings } from './storage/duckdb/history/history-config.js';

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
  /** Env CHIRPSTACK*, SPARKPLUG* (integrations/config.ts): LoRaWAN meters through ChirpStack, Sparkplug B edge nodes. */
  integrations: IntegrationsConfig;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const PORT = 'must be a port number 0-65535';
/** MQTT 5 §4.8.2: a share name must not contain `/`, `+` or `#`; the same pattern keeps them out of client ids. */
const NAME_64 = /^[A-Za-z0-9_-]{1,64}$/;

/** The ingest's own variables; with those of its parts, its one environment schema (ingestEnv). */
const ownEnv = {
  DATA_DIR: envVar.text().optional(),
  HTTP_HOST: envVar.text().optional(),
  HTTP_PORT: envVar.int({ max: 65_535, message: PORT }).optional(),
  MQTT_PORT: envVar.int({ max: 65_535, message: PORT }).optional(),
  MQTT_URL: envVar.pattern(/^(mqtts?|tcp|ssl|wss?):\/\//, 'must start with mqtt://, mqtts://, ws:// or wss://').optional(),
  MQTT_USERNAME: envVar.text().optional(),
  // Secrets: a problem never quotes the value.
  MQTT_PASSWORD: z.string().optional(),
  TSUNAGARU_ADMIN_TOKEN: z.string().refine((t) => t.length >= 16, { error: 'must be at least 16 characters (or unset it to have one generated)' }).optional(),
  LOG_LEVEL: envVar.oneOf(LOG_LEVELS).optional(),
  ALERT_RULES_FILE: envVar.text().optional(),
  HTTP_TLS_CERT: envVar.text().optional(),
  HTTP_TLS_KEY: envVar.text().optional(),
  MQTT_TLS_CA: envVar.text().optional(),
  INGEST_SHARE_GROUP: envVar.pattern(NAME_64, 'must be 1-64 of A-Z a-z 0-9 _ - (a share name may not hold /, + or #)').optional(),
  INGEST_CLIENT_ID: z.string().optional(),
  INGEST_ALERTS: envVar.flag().optional(),
  DEVICE_CLOCK_MAX_SKEW_SEC: envVar.int({ min: 1, max: 86_400, message: 'must be whole seconds 1-86400 (default 300)' }).optional(),
};

/** Every variable the ingest reads (`npm run ingest`), each checked once at start. */
export const ingestEnv = { ...ownEnv, ...storageEnv, ...apiEnv, ...duckDbEnv, ...historyEnv, ...integrationsEnv };
export type IngestEnv = EnvValues<typeof ingestEnv>;

function readFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(variable, `cannot read ${path}: ${(err as Error).message}`);
  }
}

function httpTlsFrom(v: IngestEnv): IngestConfig['httpTls'] {
  try {
    const files = readTlsFiles({ cert: v.HTTP_TLS_CERT, key: v.HTTP_TLS_KEY }, { cert: 'HTTP_TLS_CERT', key: 'HTTP_TLS_KEY', ca: 'HTTP_TLS_CA' });
    return files ? { cert: files.cert, key: files.key } : undefined;
  } catch (err) {
    throw new IngestError('INGEST_ERR_CONFIG', (err as Error).message, { cause: err });
  }
}

function shareSettingsFrom(v: IngestEnv, storage: StorageConfig, username: string): Pick<IngestConfig, 'shareGroup' | 'clientId' | 'alerts'> {
  const shareGroup = v.INGEST_SHARE_GROUP;
  const clientId = v.INGEST_CLIENT_ID ?? username;
  // The same pattern as device ids: it also keeps + and # out (mosquitto's pattern ACLs refuse those).
  if (!NAME_64.test(clientId)) throw configError('INGEST_CLIENT_ID', `must be 1-64 of A-Z a-z 0-9 _ -, got "${clientId}"${v.INGEST_CLIENT_ID ? '' : ' (the default, MQTT_USERNAME)'}`);
  if (shareGroup) {
    // Each worker gets only a round-robin share of every device's messages: readings must meet in one store.
    if (!storage.stores.some((s) => s === 'influx-v1' || s === 'influx-v2')) throw configError('STORE', `with INGEST_SHARE_GROUP the readings must go to a shared store: set influx-v1 or influx-v2, got "${storage.stores.join(',')}"`);
    // A worker follows the registry read-only (ingest/src/main.ts), so it cannot register its own account.
    if (!v.MQTT_PASSWORD) throw configError('MQTT_PASSWORD', 'with INGEST_SHARE_GROUP set the password of the ingest account in the broker (mosquitto: deploy/scripts/mosquitto-auth.ts)');
    if (storage.stores.includes('duckdb')) throw configError('STORE', 'with INGEST_SHARE_GROUP drop duckdb: a worker\'s embedded store would hold only its share of each device, and its API would show that share as if it were all');
  }
  return { shareGroup, clientId, alerts: v.INGEST_ALERTS ?? !shareGroup };
}

/** What a program other than the ingest (a tool run alone) uses where a variable is not set. */
export interface ConfigDefaults {
  duckdb?: Partial<DuckDbSettings>;
}

/** The ingest's settings from its parsed variables (the rules across variables name the one at fault); frozen. */
export function ingestConfigFrom(v: IngestEnv, defaults: ConfigDefaults = {}): Readonly<IngestConfig> {
  const mqttUsername = v.MQTT_USERNAME ?? 'tsunagaru-ingest';
  const storage = storageConfigFrom(v);
  const token = v.TSUNAGARU_ADMIN_TOKEN;
  return Object.freeze({
    dataDir: v.DATA_DIR ?? './data',
    httpHost: v.HTTP_HOST ?? '127.0.0.1',
    httpPort: v.HTTP_PORT ?? 8080,
    mqttUrl: v.MQTT_URL ?? `mqtt://127.0.0.1:${v.MQTT_PORT ?? 1883}`,
    mqttUsername,
    mqttPassword: v.MQTT_PASSWORD || undefined,
    adminToken: token ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: !token,
    logLevel: v.LOG_LEVEL ?? 'info',
    alertRulesFile: v.ALERT_RULES_FILE,
    storage,
    httpTls: httpTlsFrom(v),
    mqttTlsCa: v.MQTT_TLS_CA === undefined ? undefined : readFile('MQTT_TLS_CA', v.MQTT_TLS_CA),
    ...shareSettingsFrom(v, storage, mqttUsername),
    api: apiSettingsFrom(v),
    duckdb: duckDbSettingsFrom(v, { ...DEFAULT_DUCKDB_SETTINGS, ...defaults.duckdb }),
    history: historySettingsFrom(v),
    maxClockSkewMs: (v.DEVICE_CLOCK_MAX_SKEW_SEC ?? 300) * 1000,
    integrations: integrationsConfigFrom(v),
  });
}

/** Reads and checks the ingest's settings once at start (ingestEnv); the result is frozen (style: fastify config). */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env, defaults: ConfigDefaults = {}): Readonly<IngestConfig> {
  return ingestConfigFrom(parseIngestEnv(ingestEnv, env), defaults);
}
