import { z } from 'zod';
import { commandAckSchema, commandSchema } from './command.js';
import { MAX_PAYLOAD_BYTES } from './common.js';
import { eventSchemas } from './event.js';
import { stateSchema } from './state.js';
import { telemetrySchemas } from './telemetry.js';
import { DEVICE_TYPES, TOPIC_ROOT, type Channel, type DeviceType } from './topics.js';

/**
 * JSON Schema (draft 2020-12) export of contract v1 for firmware teams who do not run TypeScript.
 * The zod schemas stay the single source of truth; `npm run contracts:export` regenerates `schema/`, and a
 * test fails when the committed files differ from what this module produces.
 */

/** An identifier, not a fetchable URL: `.example` is a reserved TLD, so it can never resolve to someone else. */
export const SCHEMA_ID_BASE = 'https://tsunagaru.example/contracts/v1/';

export type JsonSchema = Record<string, unknown>;

const SIZE_RULE = `the whole payload must be at most ${MAX_PAYLOAD_BYTES} bytes of UTF-8 JSON`;
const ID_RULE = "`id` must equal the deviceId in the topic";

/** The schema file a payload on this (type, channel) must satisfy. */
export function schemaFileFor(type: DeviceType, channel: Channel): string {
  switch (channel) {
    case 'telemetry':
      return `telemetry.${type}.json`;
    case 'event':
      return `event.${type}.json`;
    case 'state':
      return 'state.json';
    case 'cmd':
      return 'command.json';
    case 'cmd/ack':
      return 'command-ack.json';
  }
}

interface Entry {
  file: string;
  schema: z.ZodType;
  title: string;
  description: string;
}

function crossFieldNote(rules: readonly string[]): string {
  return ` Rules this schema cannot express (checked by the ingest, see README "Cross-field rules"): ${rules.join('; ')}.`;
}

function entries(): Entry[] {
  const out: Entry[] = [];
  for (const type of DEVICE_TYPES) {
    out.push({
      file: schemaFileFor(type, 'telemetry'),
      schema: telemetrySchemas[type],
      title: `Tsunagaru v1 Telemetry (${type})`,
      description:
        `Payload published by a ${type} device on ${TOPIC_ROOT}/${type}/{deviceId}/telemetry: the envelope plus 1 to 1000 samples.` +
        crossFieldNote([ID_RULE, SIZE_RULE]),
    });
  }
  for (const type of DEVICE_TYPES) {
    out.push({
      file: schemaFileFor(type, 'event'),
      schema: eventSchemas[type],
      title: `Tsunagaru v1 Event (${type})`,
      description:
        `Payload published by a ${type} device on ${TOPIC_ROOT}/${type}/{deviceId}/event: the envelope plus an event type from the ${type} list.` +
        crossFieldNote([ID_RULE, SIZE_RULE]),
    });
  }
  out.push(
    {
      file: 'state.json',
      schema: stateSchema,
      title: 'Tsunagaru v1 State',
      description:
        `Retained payload on ${TOPIC_ROOT}/{type}/{deviceId}/state: birth (state "online", published by the device after it connects) or death (state "offline", the device's MQTT will or its graceful-disconnect message).` +
        crossFieldNote([ID_RULE, SIZE_RULE]),
    },
    {
      file: 'command.json',
      schema: commandSchema,
      title: 'Tsunagaru v1 Command',
      description:
        `Payload sent by the cloud on ${TOPIC_ROOT}/{type}/{deviceId}/cmd.` +
        crossFieldNote(['`generator_test` only for bs-power devices', 'replay `args.fromTs` ≤ `args.toTs`', '`expiresTs` ≥ `ts`', SIZE_RULE]),
    },
    {
      file: 'command-ack.json',
      schema: commandAckSchema,
      title: 'Tsunagaru v1 CommandAck',
      description:
        `Payload published by a device on ${TOPIC_ROOT}/{type}/{deviceId}/cmd/ack in answer to a Command with the same cmdId.` +
        crossFieldNote(['`error` (non-empty) is required when `ok` is false', SIZE_RULE]),
    },
  );
  return out;
}

/** Keys whose value maps names (not keywords) to subschemas: their order is the declaration order, kept. */
const NAME_MAPS = new Set(['properties', '$defs', 'definitions', 'patternProperties', 'dependentSchemas']);
const HEAD = ['$schema', '$id', 'title', 'description', 'type'];

function rank(key: string): number {
  const i = HEAD.indexOf(key);
  return i === -1 ? HEAD.length : i;
}

/**
 * Orders keywords (header first, then alphabetical) so the output does not depend on zod's internal
 * emission order, which may change between zod releases without any change to the contract.
 */
export function canonicalize(value: unknown, isNameMap = false): unknown {
  if (Array.isArray(value)) return value.map((v) => canonicalize(v));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = isNameMap
    ? Object.keys(obj)
    : Object.keys(obj).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = isNameMap ? canonicalize(obj[k]) : canonicalize(obj[k], NAME_MAPS.has(k));
  return out;
}

/** Every schema file of contract v1: `{ "telemetry.bs-power.json": schema, ... }`. */
export function generateJsonSchemas(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const e of entries()) {
    // unrepresentable: 'throw' so a zod feature with no JSON Schema equivalent fails the export loudly.
    const raw = z.toJSONSchema(e.schema, { target: 'draft-2020-12', unrepresentable: 'throw' }) as JsonSchema;
    out[e.file] = canonicalize({ ...raw, $id: `${SCHEMA_ID_BASE}${e.file}`, title: e.title, description: e.description }) as JsonSchema;
  }
  return out;
}

/** The exact bytes of a committed schema file. */
export function renderSchemaFile(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
