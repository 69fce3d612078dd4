import { buildTopic, DEVICE_TYPES, devicePrefix, type DeviceRecord, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestError } from '../../errors.js';
import type { DeviceStatus } from '../../storage/types.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, FIELD_ROLES, READ_ROLES } from '../roles.js';
import { deviceIdParam, page, provisionBody, rangeQuery, ref } from '../schemas.js';
import { parseRange } from '../time-range.js';
import { aggParam, deviceSeries, deviceSeriesResponse, intervalParam, type SeriesQs } from './series.js';

/** The registry keeps ISO 8601 times; the API's JSON carries epoch ms (schemas.ts). */
export const epochMsOf = (iso: string): number => Date.parse(iso);

/** The public view of a device: never the secret hash. */
export function publicDevice(d: DeviceRecord, status: DeviceStatus | undefined) {
  return {
    id: d.id,
    type: d.type,
    attributes: d.attributes,
    ...(d.location ? { location: d.location } : {}),
    disabled: d.disabled,
    createdAt: epochMsOf(d.createdAt),
    updatedAt: epochMsOf(d.updatedAt),
    status: {
      online: status?.online ?? false,
      boot: status?.boot ?? null,
      lastSeen: status?.lastSeen ?? null,
      lastStateAt: status?.lastStateAt ?? null,
      fw: status?.fw ?? null,
      model: status?.model ?? null,
      sampleSec: status?.sampleSec ?? null,
      clockSkewMs: status?.clockSkewMs ?? null,
    },
  };
}

type Latest = Record<string, { value: unknown; ts: number; source?: 'lorawan-status' }>;

/**
 * A LoRaWAN meter's battery and link margin as its network server last heard them (ChirpStack `status`,
 * the answer to DevStatusReq): many meters' codecs carry no battery, and the margin is no reading at all,
 * yet this is what a field engineer checks first. The battery shows the newer of the readings' value and
 * the status's; the margin is `linkMarginDb` (dB above the demodulation floor at the network server).
 */
export function withLorawanStatus(latest: Latest, status: { batteryPct: number | null; externalPower: boolean; marginDb: number; at: number } | null): Latest {
  if (!status) return latest;
  const out: Latest = { ...latest, linkMarginDb: { value: status.marginDb, ts: status.at, source: 'lorawan-status' } };
  if (status.batteryPct !== null && (latest.batteryPct === undefined || latest.batteryPct.ts < status.at)) out.batteryPct = { value: status.batteryPct, ts: status.at, source: 'lorawan-status' };
  if (status.externalPower) out.externalPower = { value: true, ts: status.at, source: 'lorawan-status' };
  return out;
}

/** A device outside the caller's role scope (roles.ts) is reported as not provisioned. */
export function requireDevice(deps: ApiDeps, id: string, request: FastifyRequest): DeviceRecord {
  const device = deps.registry.getDevice(id);
  const role = request.principal?.role;
  if (!device || (role && !canSeeDeviceType(role, device.type))) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned`);
  return device;
}

interface RangeQs {
  from?: number | string;
  to?: number | string;
  limit: number;
}

/** The readings route also takes interval/agg/reading (routes/series.ts): aggregated instead of raw. */
const readingsQuery = {
  ...rangeQuery,
  properties: { ...rangeQuery.properties, interval: intervalParam, agg: aggParam, reading: { type: 'string', pattern: '^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$', maxLength: 256, description: 'with interval: comma-separated readings (default every numeric reading)' } },
} as const;

export async function deviceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = deps.clock ?? Date.now;

  app.get<{ Querystring: { type?: DeviceType; online?: boolean } }>(
    '/api/v1/devices',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'List provisioned devices with their status',
        tags: ['devices'],
        querystring: { type: 'object', additionalProperties: false, properties: { type: { type: 'string', enum: [...DEVICE_TYPES] }, online: { type: 'boolean' } } },
        response: { 200: page('devices', ref('Device')) },
      },
    },
    async (request) => {
      const statuses = new Map((await deps.operations.listStatus()).map((s) => [s.deviceId, s]));
      const devices = deps.registry
        .listDevices()
        .filter((d) => !request.query.type || d.type === request.query.type)
        .filter((d) => !request.principal || canSeeDeviceType(request.principal.role, d.type))
        .map((d) => publicDevice(d, statuses.get(d.id)))
        .filter((d) => request.query.online === undefined || d.status.online === request.query.online)
        .sort((a, b) => a.id.localeCompare(b.id));
      return { count: devices.length, devices };
    },
  );

  app.post<{ Body: { id: string; type: DeviceType; attributes?: DeviceRecord['attributes']; location?: DeviceRecord['location'] } }>(
    '/api/v1/devices',
    {
      config: { roles: FIELD_ROLES },
      schema: {
        summary: 'Provision a device; the response carries its MQTT secret, shown only this once',
        tags: ['devices'],
        body: provisionBody,
        response: {
          201: {
            type: 'object',
            required: ['device', 'secret', 'mqtt'],
            additionalProperties: false,
            properties: { device: ref('Device'), secret: { type: 'string', description: 'the MQTT secret, shown only this once' }, mqtt: ref('MqttAccess') },
          },
          409: ref('Error'),
        },
      },
    },
    async (request, reply) => {
      const { device, secret } = await deps.registry.provision(request.body);
      request.log.info({ event: 'device_provisioned', deviceId: device.id, type: device.type }, 'device provisioned');
      await request.audit({ action: 'device.provision', target: device.id, detail: { type: device.type } });
      return reply.code(201).send({
        device: publicDevice(device, undefined),
        secret,
        mqtt: { url: deps.mqttPublicUrl ?? '', username: device.id, publishPrefix: devicePrefix(device.type, device.id), subscribe: buildTopic(device.type, device.id, 'cmd') },
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'One device: status, last seen, and the latest value of every reading',
        tags: ['devices'],
        params: deviceIdParam,
        response: {
          200: {
            allOf: [
              ref('Device'),
              {
                type: 'object',
                required: ['latest'],
                properties: {
                  latest: {
                    type: 'object',
                    description: 'per reading: its latest value and when it was measured (epoch ms)',
                    additionalProperties: {
                      type: 'object',
                      required: ['value', 'ts'],
                      properties: {
                        value: {},
                        ts: { type: 'integer' },
                        source: { type: 'string', enum: ['lorawan-status'], description: "not a reading: the network server's DevStatusAns (ChirpStack status event), newer than the readings' value" },
                      },
                    },
                  },
                },
              },
            ],
          },
        },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const [status, latest] = await Promise.all([deps.operations.getStatus(device.id), deps.readings.latestReadings(device.id, device.type)]);
      return { ...publicDevice(device, status), latest: withLorawanStatus(latest, deps.integrations?.lorawanDevice(device.id)?.status ?? null) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: RangeQs & SeriesQs }>(
    '/api/v1/devices/:id/readings',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Samples of a device in [from, to), oldest first, in the contract\'s field names; with `interval`, aggregated per bucket instead (15m from the samples, 1h and 1d from the rollups)',
        tags: ['devices'],
        params: deviceIdParam,
        querystring: readingsQuery,
        response: {
          200: {
            anyOf: [
              {
                type: 'object',
                required: ['deviceId', 'type', 'from', 'to', 'count', 'truncated', 'readings'],
                additionalProperties: false,
                properties: {
                  deviceId: { type: 'string' },
                  type: { type: 'string', enum: [...DEVICE_TYPES] },
                  from: { type: 'integer' },
                  to: { type: 'integer' },
                  count: { type: 'integer' },
                  truncated: { type: 'boolean', description: 'limit reached: ask again from the last ts' },
                  readings: { type: 'array', items: ref('Reading') },
                },
              },
              deviceSeriesResponse,
            ],
          },
        },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      if (request.query.interval) return deviceSeries(deps, device, request.query, now());
      const { from, to } = parseRange(request.query, now());
      const limit = request.query.limit;
      const readings = await deps.readings.readings(device.id, device.type, { from, to, limit });
      return { deviceId: device.id, type: device.type, from, to, count: readings.length, truncated: readings.length === limit, readings };
    },
  );

  app.get<{ Params: { id: string }; Querystring: RangeQs }>(
    '/api/v1/devices/:id/events',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Events of a device in [from, to)',
        tags: ['devices'],
        params: deviceIdParam,
        querystring: rangeQuery,
        response: {
          200: page('events', {
            type: 'object',
            required: ['boot', 'seq', 'ts', 'type'],
            additionalProperties: false,
            properties: { boot: { type: 'integer' }, seq: { type: 'integer' }, ts: { type: 'integer' }, type: { type: 'string' }, detail: {} },
          }, { deviceId: { type: 'string' }, from: { type: 'integer' }, to: { type: 'integer' } }),
        },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const { from, to } = parseRange(request.query, now());
      const events = await deps.readings.events(device.id, { from, to, limit: request.query.limit });
      return { deviceId: device.id, from, to, count: events.length, events };
    },
  );
}
