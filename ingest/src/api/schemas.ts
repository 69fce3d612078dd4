import { DEVICE_ID_PATTERN, DEVICE_TYPES } from '@tsunagaru/firmware-contracts';

/**
 * JSON Schemas of the API contract: request validation, response serialization and the OpenAPI document
 * (`/api/docs/json`). Shared shapes are components, registered once (app.addSchema) and referenced by
 * `ref('Device')`; they appear in the document under `components.schemas`.
 *
 * One time format in JSON bodies: epoch milliseconds (integer, UTC), as the device contract uses. Query
 * parameters also accept ISO 8601 for people typing URLs; CSV exports write ISO 8601 text.
 */

export type ComponentName = 'Error' | 'RowProblem' | 'Page' | 'DeviceStatus' | 'Device' | 'DeviceCredential' | 'MqttAccess' | 'Reading' | 'Alert';

/** `{ $ref }` to a shared component by name (its `$id`). */
export const ref = <N extends ComponentName>(name: N) => ({ $ref: `${name}#` as const });

/** Largest |epoch ms| a JavaScript Date holds (±100,000,000 days): beyond it no time can be formatted. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

export const epochMs = { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS, description: 'epoch milliseconds (UTC)' } as const;
const nullableEpochMs = { type: ['integer', 'null'], minimum: 0, maximum: MAX_EPOCH_MS, description: 'epoch milliseconds (UTC), null when never' } as const;

/**
 * A time in a query string: epoch milliseconds within what a Date can hold, or an ISO 8601 date-time with
 * its offset (or a date, read as UTC midnight). Validated here, so nothing out of range reaches the store.
 */
export const timeParam = (description: string) =>
  ({
    description: `${description}; epoch milliseconds or ISO 8601 (e.g. 2026-11-20T00:00:00Z)`,
    anyOf: [
      { type: 'integer', minimum: -MAX_EPOCH_MS, maximum: MAX_EPOCH_MS },
      { type: 'string', format: 'date-time' },
      { type: 'string', format: 'date' },
    ],
  }) as const;

/** What the anyOf of `timeParam` is called in error messages. */
export const TIME_PARAM_HINT = `epoch milliseconds (an integer within ±${MAX_EPOCH_MS}) or an ISO 8601 date-time with offset (or a date)`;

/** Free text in a query: bounded, so no parameter is unbounded. */
export const queryText = (maxLength: number, description?: string) => ({ type: 'string', minLength: 1, maxLength, ...(description ? { description } : {}) }) as const;

export const deviceIdParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: DEVICE_ID_PATTERN.source, maxLength: 64 } },
} as const;

const attributes = {
  type: 'object',
  description: 'Device attributes such as dma, site, island; attributes named welfare… only for roles with welfare access',
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
} as const;

export const location = {
  type: 'object',
  required: ['lat', 'lon'],
  additionalProperties: false,
  properties: { lat: { type: 'number', minimum: -90, maximum: 90 }, lon: { type: 'number', minimum: -180, maximum: 180 } },
} as const;

const deviceType = { type: 'string', enum: [...DEVICE_TYPES] } as const;

const components: Record<ComponentName, object> = {
  Error: {
    type: 'object',
    description: 'Every error answer: the HTTP status, a stable code (INGEST_ERR_…), its name and what to do',
    required: ['statusCode', 'code', 'error', 'message'],
    additionalProperties: false,
    properties: {
      statusCode: { type: 'integer', minimum: 400, maximum: 599 },
      code: { type: 'string' },
      error: { type: 'string' },
      message: { type: 'string' },
      errors: { type: 'array', description: 'a refused bulk import: its problems by line', items: { $ref: 'RowProblem#' } },
    },
  },
  RowProblem: {
    type: 'object',
    description: 'A problem with one row of a provisioning file: its line (1-based), the device id when readable, what to fix',
    required: ['line', 'message'],
    additionalProperties: false,
    properties: { line: { type: 'integer', minimum: 1 }, id: { type: 'string' }, message: { type: 'string' } },
  },
  Page: {
    type: 'object',
    description: 'How many items this answer holds; lists that page say how to ask for the next page (nextBefore)',
    required: ['count'],
    properties: { count: { type: 'integer', minimum: 0 } },
  },
  DeviceStatus: {
    type: 'object',
    required: ['online', 'boot', 'lastSeen', 'lastStateAt', 'fw', 'model', 'sampleSec'],
    additionalProperties: false,
    properties: {
      online: { type: 'boolean' },
      boot: { type: ['integer', 'null'] },
      lastSeen: { ...nullableEpochMs, description: 'epoch ms of the last message' },
      lastStateAt: nullableEpochMs,
      fw: { type: ['string', 'null'] },
      model: { type: ['string', 'null'] },
      sampleSec: { type: ['integer', 'null'] },
      clockSkewMs: {
        type: ['integer', 'null'],
        description: 'device clock minus server clock (ms) at its latest live message or birth; positive: the clock is ahead, and readings stamped more than DEVICE_CLOCK_MAX_SKEW_SEC ahead are dead letters',
      },
    },
  },
  /** Open (no additionalProperties: false) so device detail can extend it with allOf. */
  Device: {
    type: 'object',
    required: ['id', 'type', 'attributes', 'disabled', 'createdAt', 'updatedAt', 'status'],
    properties: {
      id: { type: 'string' },
      type: deviceType,
      attributes,
      location,
      disabled: { type: 'boolean' },
      createdAt: epochMs,
      updatedAt: epochMs,
      status: ref('DeviceStatus'),
    },
  },
  /** A device's credential state (provisioning routes): never its secret hash. */
  DeviceCredential: {
    type: 'object',
    required: ['id', 'type', 'disabled', 'updatedAt'],
    additionalProperties: false,
    properties: { id: { type: 'string' }, type: deviceType, disabled: { type: 'boolean' }, updatedAt: epochMs },
  },
  MqttAccess: {
    type: 'object',
    description: 'Where and as whom the device connects',
    required: ['url', 'username', 'publishPrefix', 'subscribe'],
    additionalProperties: false,
    properties: { url: { type: 'string' }, username: { type: 'string' }, publishPrefix: { type: 'string' }, subscribe: { type: 'string' } },
  },
  Reading: {
    type: 'object',
    description: "One sample in the contract's field names (readings absent from the sample are left out); ring nodes carry `segments`",
    required: ['boot', 'seq', 'ts', 'replay'],
    additionalProperties: true,
    properties: { boot: { type: 'integer' }, seq: { type: 'integer' }, ts: epochMs, replay: { type: 'boolean' } },
  },
  /**
   * An alert (alerts/types.ts `Alert`). Open to further fields (additionalProperties): the alert model
   * grows (e.g. observedAt, causeId), and the fields listed here are the ones clients may rely on.
   */
  Alert: {
    type: 'object',
    required: ['id', 'deviceId', 'rule', 'group', 'severity', 'state', 'message', 'raisedAt', 'updatedAt'],
    additionalProperties: true,
    properties: {
      id: { type: 'string' },
      deviceId: { type: 'string' },
      deviceType: { type: ['string', 'null'] },
      rule: { type: 'string' },
      object: { type: ['string', 'null'] },
      group: { type: 'string', enum: ['field', 'water', 'disaster'] },
      severity: { type: 'string', enum: ['critical', 'major', 'minor', 'warning', 'indeterminate'] },
      state: { type: 'string', enum: ['active', 'cleared'] },
      message: { type: 'string' },
      value: { type: ['number', 'null'] },
      detail: { type: 'object', additionalProperties: true },
      raisedAt: { ...epochMs, description: 'when the ingest raised it (its clock)' },
      observedAt: { ...nullableEpochMs, description: 'when the device observed the reading or event that raised (or last escalated) it; null when the clock alone decided (silence)' },
      updatedAt: epochMs,
      clearedAt: nullableEpochMs,
      causeId: { type: ['string', 'null'], description: 'a symptom: the id of its root-cause alert (isolated island, cut segment, district power cut); not announced on its own while that is active' },
      symptoms: { type: 'integer', description: 'a root cause: how many open alerts are its symptoms' },
      announced: { type: 'boolean', description: 'consoles and webhooks heard of it, so they also hear of its clear' },
      acknowledged: { type: 'boolean' },
      ackedAt: nullableEpochMs,
      ackedBy: { type: ['string', 'null'] },
      comments: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { at: epochMs, by: { type: 'string' }, text: { type: 'string' } } } },
      shelved: { type: ['object', 'null'], additionalProperties: true, properties: { mode: { type: 'string' }, until: nullableEpochMs, at: epochMs, by: { type: 'string' } } },
      chattering: { type: 'boolean' },
      transitions: { type: 'integer' },
      flooded: { type: 'boolean' },
    },
  },
};

/** The shared components, for `app.addSchema` (each with its `$id`, the name it is referenced by). */
export const sharedSchemas = (): object[] => Object.entries(components).map(([name, schema]) => ({ $id: name, ...schema }));

/** `{count, <key>: [items], …extra}`: a list answer built on the Page component. */
export function page(key: string, items: object, extra: Record<string, object> = {}) {
  return {
    allOf: [ref('Page'), { type: 'object', required: [key], properties: { [key]: { type: 'array', items }, ...extra } }],
  };
}

export const provisionBody = {
  type: 'object',
  required: ['id', 'type'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: DEVICE_ID_PATTERN.source, maxLength: 64 },
    type: deviceType,
    attributes,
    location,
  },
} as const;

export const rangeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: timeParam('start (inclusive); default: 24 h before `to`'),
    to: timeParam('end (exclusive); default: now'),
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
  },
} as const;

/** Query strings that take only a page size. */
export const limitQuery = (max: number, dflt: number) => ({ type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: max, default: dflt } } }) as const;
