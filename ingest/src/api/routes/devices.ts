import { devicePrefix, buildTopic, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeviceRecord } from '@tsunagaru/broker';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestError } from '../../errors.js';
import type { DeviceStatus } from '../../storage/types.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, FIELD_ROLES, READ_ROLES } from '../roles.js';
import { deviceIdParam, deviceSchema, errorSchema, provisionBody, rangeQuery, statusSchema } from '../schemas.js';
import { parseRange } from '../time-range.js';

/** The public view of a device: never the secret hash. */
function publicDevice(d: DeviceRecord, status: DeviceStatus | undefined) {
  return {
    id: d.id,
    type: d.type,
    attributes: d.attributes,
    ...(d.location ? { location: d.location } : {}),
    disabled: d.disabled,
    createdAt: d.createdAt,
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

/** A device outside the caller's role scope (roles.ts) is reported as not provisioned. */
function requireDevice(deps: ApiDeps, id: string, request: FastifyRequest): DeviceRecord {
  const device = deps.registry.getDevice(id);
  const role = request.principal?.role;
  if (!device || (role && !canSeeDeviceType(role, device.type))) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned`);
  return device;
}

interface RangeQs {
  from?: string;
  to?: string;
  limit: number;
}

export async function deviceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = deps.clock ?? Date.now;

  app.get<{ Querystring: { type?: DeviceType; online?: boolean } }>(
    '/api/v1/devices',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'List provisioned devices with their status',
        tags: ['devices'],
        querystring: { type: 'object', properties: { type: deviceSchema.properties.type, online: { type: 'boolean' } } },
        response: { 200: { type: 'object', properties: { count: { type: 'integer' }, devices: { type: 'array', items: deviceSchema } } } },
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
            properties: {
              device: deviceSchema,
              secret: { type: 'string' },
              mqtt: {
                type: 'object',
                properties: { url: { type: 'string' }, username: { type: 'string' }, publishPrefix: { type: 'string' }, subscribe: { type: 'string' } },
              },
            },
          },
          409: errorSchema,
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
            type: 'object',
            properties: {
              ...deviceSchema.properties,
              status: statusSchema,
              latest: { type: 'object', additionalProperties: { type: 'object', properties: { value: {}, ts: { type: 'integer' } } } },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const [status, latest] = await Promise.all([deps.operations.getStatus(device.id), deps.readings.latestReadings(device.id, device.type)]);
      return { ...publicDevice(device, status), latest };
    },
  );

  app.get<{ Params: { id: string }; Querystring: RangeQs }>(
    '/api/v1/devices/:id/readings',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Samples of a device in [from, to), oldest first, in the contract\'s field names',
        tags: ['devices'],
        params: deviceIdParam,
        querystring: rangeQuery,
        response: { 404: errorSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const { from, to } = parseRange(request.query, now());
      const limit = request.query.limit;
      const readings = await deps.readings.readings(device.id, device.type, { from, to, limit });
      return { deviceId: device.id, type: device.type, from, to, count: readings.length, truncated: readings.length === limit, readings };
    },
  );

  app.get<{ Params: { id: string }; Querystring: RangeQs }>(
    '/api/v1/devices/:id/events',
    { config: { roles: READ_ROLES }, schema: { summary: 'Events of a device in [from, to)', tags: ['devices'], params: deviceIdParam, querystring: rangeQuery, response: { 404: errorSchema } } },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const { from, to } = parseRange(request.query, now());
      const events = await deps.readings.events(device.id, { from, to, limit: request.query.limit });
      return { deviceId: device.id, from, to, count: events.length, events };
    },
  );
}
