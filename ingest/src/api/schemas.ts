import { DEVICE_ID_PATTERN, DEVICE_TYPES } from '@tsunagaru/firmware-contracts';

/** JSON Schemas for the OpenAPI document and request validation. */
export const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;

export const deviceIdParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: DEVICE_ID_PATTERN.source } },
} as const;

const attributes = {
  type: 'object',
  description: 'Device attributes such as dma, site, island, welfareWatch',
  additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
} as const;

const location = {
  type: 'object',
  required: ['lat', 'lon'],
  additionalProperties: false,
  properties: { lat: { type: 'number', minimum: -90, maximum: 90 }, lon: { type: 'number', minimum: -180, maximum: 180 } },
} as const;

export const statusSchema = {
  type: 'object',
  properties: {
    online: { type: 'boolean' },
    boot: { type: ['integer', 'null'] },
    lastSeen: { type: ['integer', 'null'], description: 'epoch ms of the last message' },
    lastStateAt: { type: ['integer', 'null'] },
    fw: { type: ['string', 'null'] },
    model: { type: ['string', 'null'] },
    sampleSec: { type: ['integer', 'null'] },
    clockSkewMs: {
      type: ['integer', 'null'],
      description: "device clock minus server clock (ms) at its latest live message or birth; positive: the clock is ahead, and readings stamped more than DEVICE_CLOCK_MAX_SKEW_SEC ahead are dead letters",
    },
  },
} as const;

export const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: [...DEVICE_TYPES] },
    attributes,
    location,
    disabled: { type: 'boolean' },
    createdAt: { type: 'string' },
    status: statusSchema,
  },
} as const;

export const provisionBody = {
  type: 'object',
  required: ['id', 'type'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: DEVICE_ID_PATTERN.source },
    type: { type: 'string', enum: [...DEVICE_TYPES] },
    attributes,
    location,
  },
} as const;

export const rangeQuery = {
  type: 'object',
  properties: {
    from: { type: 'string', description: 'epoch ms or ISO 8601; default: 24 h before `to`' },
    to: { type: 'string', description: 'epoch ms or ISO 8601 (exclusive); default: now' },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
  },
} as const;
