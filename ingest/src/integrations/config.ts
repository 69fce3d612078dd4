/**
 * Integration settings from the environment (part of the ingest's one zod environment schema, config.ts;
 * errors naming the variable and the fix). Both are off unless asked for: CHIRPSTACK=on, SPARKPLUG=on.
 * Mapping files are read here, at start, so a wrong one stops the ingest before it takes any message.
 */
import { fileURLToPath } from 'node:url';
import { isTopicLevelId } from '@tsunagaru/broker';
import { readFileSync } from 'node:fs';
import { envVar, shown, type EnvValues } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { parseIngestEnv } from '../env.js';
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

const URL_MESSAGE = 'must start with mqtt://, mqtts://, ws:// or wss://';
const url = envVar.pattern(/^(mqtts?|tcp|ssl|wss?):\/\//, URL_MESSAGE);
const clientId = envVar.pattern(/^[A-Za-z0-9_:.-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ : . -');
const ID_RULE = 'must be 1-128 characters without / + # or a leading $';
const splitIds = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
/** A comma-separated list of topic-level ids; each one wrong is named. */
const idList = (what: string) =>
  z
    .string()
    .superRefine((s, ctx) => {
      for (const id of splitIds(s)) if (!isTopicLevelId(id)) ctx.addIssue({ code: 'custom', message: `each ${what} ${ID_RULE}, got ${shown(id)}` });
    })
    .transform(splitIds);

/** CHIRPSTACK* and SPARKPLUG*, as the ingest's environment schema holds them (config.ts ingestEnv). */
export const integrationsEnv = {
  CHIRPSTACK: envVar.flag().optional(),
  CHIRPSTACK_MQTT_URL: url.optional(),
  CHIRPSTACK_MQTT_USERNAME: z.string().optional(),
  // Secrets: a problem never quotes the value.
  CHIRPSTACK_MQTT_PASSWORD: z.string().optional(),
  CHIRPSTACK_MQTT_CLIENT_ID: clientId.optional(),
  CHIRPSTACK_MQTT_TLS_CA: envVar.text().optional(),
  CHIRPSTACK_APPLICATION_IDS: idList('application id').optional(),
  CHIRPSTACK_MAPPINGS_DIR: envVar.text().optional(),
  SPARKPLUG: envVar.flag().optional(),
  SPARKPLUG_MQTT_URL: url.optional(),
  SPARKPLUG_MQTT_USERNAME: z.string().optional(),
  SPARKPLUG_MQTT_PASSWORD: z.string().optional(),
  SPARKPLUG_MQTT_CLIENT_ID: clientId.optional(),
  SPARKPLUG_MQTT_TLS_CA: envVar.text().optional(),
  SPARKPLUG_GROUPS: idList('group id').optional(),
  SPARKPLUG_HOST_ID: z.string().refine(isTopicLevelId, { error: (iss) => `${ID_RULE}, got ${shown(iss.input)}` }).optional(),
  SPARKPLUG_REORDER_TIMEOUT_MS: envVar.int({ min: 0, max: 600_000, message: 'must be whole milliseconds 0-600000 (default 2000)' }).optional(),
  SPARKPLUG_MAPPINGS_DIR: envVar.text().optional(),
};

export type IntegrationsEnv = EnvValues<typeof integrationsEnv>;

function readCa(variable: string, path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(variable, `cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * The integration settings from the parsed variables (part of ingestEnv); reads the mapping files, so a
 * wrong one stops the start (INGEST_ERR_CONFIG naming the variable, or the mapping file and field).
 */
export function integrationsConfigFrom(e: IntegrationsEnv): IntegrationsConfig {
  const config: IntegrationsConfig = {};
  if (e.CHIRPSTACK) {
    const mappingsDir = e.CHIRPSTACK_MAPPINGS_DIR ?? SHIPPED_CHIRPSTACK_MAPPINGS;
    config.chirpstack = {
      mqtt: { url: e.CHIRPSTACK_MQTT_URL, username: e.CHIRPSTACK_MQTT_USERNAME, password: e.CHIRPSTACK_MQTT_PASSWORD, clientId: e.CHIRPSTACK_MQTT_CLIENT_ID, ca: readCa('CHIRPSTACK_MQTT_TLS_CA', e.CHIRPSTACK_MQTT_TLS_CA) },
      applicationIds: e.CHIRPSTACK_APPLICATION_IDS ?? [],
      mappingsDir,
      mappings: loadChirpStackMappings(mappingsDir),
    };
  }
  if (e.SPARKPLUG) {
    const mappingsDir = e.SPARKPLUG_MAPPINGS_DIR ?? SHIPPED_SPARKPLUG_MAPPINGS;
    config.sparkplug = {
      mqtt: { url: e.SPARKPLUG_MQTT_URL, username: e.SPARKPLUG_MQTT_USERNAME, password: e.SPARKPLUG_MQTT_PASSWORD, clientId: e.SPARKPLUG_MQTT_CLIENT_ID, ca: readCa('SPARKPLUG_MQTT_TLS_CA', e.SPARKPLUG_MQTT_TLS_CA) },
      groups: e.SPARKPLUG_GROUPS ?? [],
      hostId: e.SPARKPLUG_HOST_ID ?? 'tsunagaru',
      reorderTimeoutMs: e.SPARKPLUG_REORDER_TIMEOUT_MS ?? 2000,
      mappingsDir,
      mappings: loadSparkplugMappings(mappingsDir),
    };
  }
  return config;
}

/** The integration settings alone, from an environment (tests); `npm run ingest` reads them with the rest (config.ts). */
export function loadIntegrationsConfig(env: NodeJS.ProcessEnv): IntegrationsConfig {
  return integrationsConfigFrom(parseIngestEnv(integrationsEnv, env));
}
