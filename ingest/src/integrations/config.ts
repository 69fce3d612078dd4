/**
 * Integration settings from the environment (zod, errors naming the variable and the fix). Both are off
 * unless asked for: CHIRPSTACK=on, SPARKPLUG=on. Mapping files are read here, at start, so a wrong one
 * stops the ingest before it takes any message.
 */
import { fileURLToPath } from 'node:url';
import { isTopicLevelId } from '@tsunagaru/broker';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configError } from '../errors.js';
import { loadChirpStackMappings, type ChirpStackMapping } from './chirpstack/mapping.js';
import { loadSparkplugMappings, type SparkplugMapping } from './sparkplug/mapping.js';

/** An MQTT connection an integration uses; undefined fields fall back to the ingest's own (MQTT_*). */
export interface IntegrationMqtt {
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  clientId?: string | undefined;
  ca?: string | undefined;
}

export interface ChirpStackConfig {
  mqtt: IntegrationMqtt;
  /** ChirpStack application ids to subscribe to; empty: every application (`application/+/…`). */
  applicationIds: string[];
  mappingsDir: string;
  mappings: ReadonlyMap<string, ChirpStackMapping>;
}

export interface SparkplugConfig {
  mqtt: IntegrationMqtt;
  /** Sparkplug group ids to subscribe to; empty: every group. */
  groups: string[];
  /** This host application's id: its STATE topic is spBv1.0/STATE/{hostId}. */
  hostId: string;
  /** How long a gap in an edge node's seq may stay open before a rebirth is requested (Sparkplug 3.0 "Reorder Timeout"). */
  reorderTimeoutMs: number;
  mappingsDir: string;
  mappings: ReadonlyMap<string, SparkplugMapping>;
}

export interface IntegrationsConfig {
  chirpstack?: ChirpStackConfig | undefined;
  sparkplug?: SparkplugConfig | undefined;
}

export const SHIPPED_CHIRPSTACK_MAPPINGS = fileURLToPath(new URL('../../mappings/chirpstack/', import.meta.url));
export const SHIPPED_SPARKPLUG_MAPPINGS = fileURLToPath(new URL('../../mappings/sparkplug/', import.meta.url));

const blankIsUnset = (v: unknown) => (v === '' ? undefined : v);
const optionalText = z.preprocess(blankIsUnset, z.string().optional());
const onOff = z.preprocess(blankIsUnset, z.enum(['on', 'off'], { message: 'must be on or off' }).default('off'));
const url = z.preprocess(blankIsUnset, z.string().regex(/^(mqtts?|tcp|ssl|wss?):\/\//, 'must start with mqtt://, mqtts://, ws:// or wss://').optional());
const clientId = z.preprocess(blankIsUnset, z.string().regex(/^[A-Za-z0-9_:.-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ : . -').optional());
const idList = (what: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : []),
    z.array(z.string().refine(isTopicLevelId, `each ${what} must be 1-128 characters without / + # or a leading $`)),
  );

const envSchema = z.object({
  CHIRPSTACK: onOff,
  CHIRPSTACK_MQTT_URL: url,
  CHIRPSTACK_MQTT_USERNAME: optionalText,
  CHIRPSTACK_MQTT_PASSWORD: optionalText,
  CHIRPSTACK_MQTT_CLIENT_ID: clientId,
  CHIRPSTACK_MQTT_TLS_CA: optionalText,
  CHIRPSTACK_APPLICATION_IDS: idList('application id'),
  CHIRPSTACK_MAPPINGS_DIR: optionalText,
  SPARKPLUG: onOff,
  SPARKPLUG_MQTT_URL: url,
  SPARKPLUG_MQTT_USERNAME: optionalText,
  SPARKPLUG_MQTT_PASSWORD: optionalText,
  SPARKPLUG_MQTT_CLIENT_ID: clientId,
  SPARKPLUG_MQTT_TLS_CA: optionalText,
  SPARKPLUG_GROUPS: idList('group id'),
  SPARKPLUG_HOST_ID: z.preprocess(blankIsUnset, z.string().refine(isTopicLevelId, 'must be 1-128 characters without / + # or a leading $').default('tsunagaru')),
  SPARKPLUG_REORDER_TIMEOUT_MS: z.preprocess(blankIsUnset, z.coerce.number().int('must be whole milliseconds').min(0).max(600_000).default(2000)),
  SPARKPLUG_MAPPINGS_DIR: optionalText,
});

function readCa(variable: string, path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(variable, `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Reads CHIRPSTACK_* and SPARKPLUG_*; throws INGEST_ERR_CONFIG naming the variable (or the mapping file and field). */
export function loadIntegrationsConfig(env: NodeJS.ProcessEnv): IntegrationsConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    throw configError(variable, `${issue.message}, got ${JSON.stringify(env[variable])?.slice(0, 80)}`);
  }
  const e = parsed.data;
  const config: IntegrationsConfig = {};
  if (e.CHIRPSTACK === 'on') {
    const mappingsDir = e.CHIRPSTACK_MAPPINGS_DIR ?? SHIPPED_CHIRPSTACK_MAPPINGS;
    config.chirpstack = {
      mqtt: { url: e.CHIRPSTACK_MQTT_URL, username: e.CHIRPSTACK_MQTT_USERNAME, password: e.CHIRPSTACK_MQTT_PASSWORD, clientId: e.CHIRPSTACK_MQTT_CLIENT_ID, ca: readCa('CHIRPSTACK_MQTT_TLS_CA', e.CHIRPSTACK_MQTT_TLS_CA) },
      applicationIds: e.CHIRPSTACK_APPLICATION_IDS,
      mappingsDir,
      mappings: loadChirpStackMappings(mappingsDir),
    };
  }
  if (e.SPARKPLUG === 'on') {
    const mappingsDir = e.SPARKPLUG_MAPPINGS_DIR ?? SHIPPED_SPARKPLUG_MAPPINGS;
    config.sparkplug = {
      mqtt: { url: e.SPARKPLUG_MQTT_URL, username: e.SPARKPLUG_MQTT_USERNAME, password: e.SPARKPLUG_MQTT_PASSWORD, clientId: e.SPARKPLUG_MQTT_CLIENT_ID, ca: readCa('SPARKPLUG_MQTT_TLS_CA', e.SPARKPLUG_MQTT_TLS_CA) },
      groups: e.SPARKPLUG_GROUPS,
      hostId: e.SPARKPLUG_HOST_ID,
      reorderTimeoutMs: e.SPARKPLUG_REORDER_TIMEOUT_MS,
      mappingsDir,
      mappings: loadSparkplugMappings(mappingsDir),
    };
  }
  return config;
}
