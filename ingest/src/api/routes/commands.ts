import { COMMAND_NAMES, type DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_TTL_SEC, type CommandService } from '../../commands/command-service.js';
import { IngestError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, FIELD_ROLES, READ_ROLES } from '../roles.js';
import { deviceIdParam, limitQuery, page } from '../schemas.js';

const commandSchema = {
  type: 'object',
  required: ['cmdId', 'deviceId', 'name', 'status', 'createdAt', 'expiresAt'],
  properties: {
    cmdId: { type: 'string' },
    deviceId: { type: 'string' },
    name: { type: 'string' },
    args: { type: ['object', 'null'], additionalProperties: true },
    status: { type: 'string', enum: ['queued', 'sent', 'acked', 'failed', 'expired'] },
    createdAt: { type: 'integer' },
    expiresAt: { type: 'integer' },
    sentAt: { type: ['integer', 'null'] },
    ackedAt: { type: ['integer', 'null'] },
    result: { type: ['object', 'null'], additionalProperties: true },
    error: { type: ['string', 'null'] },
  },
} as const;

const commandBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', enum: [...COMMAND_NAMES] },
    args: { type: 'object', additionalProperties: true },
    ttlSec: { type: 'integer', minimum: 1, maximum: MAX_TTL_SEC, default: 300, description: 'seconds the command stays valid; a device offline longer never runs it' },
  },
} as const;

function requireDevice(deps: ApiDeps, id: string, request: FastifyRequest): DeviceRecord {
  const device = deps.registry.getDevice(id);
  const role = request.principal?.role;
  if (!device || (role && !canSeeDeviceType(role, device.type))) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned`);
  return device;
}

/** Cloud → device commands (contract v1 "Commands"): send, then follow queued / sent / acked / failed / expired. */
export async function commandRoutes(app: FastifyInstance, deps: ApiDeps, commands: CommandService): Promise<void> {
  app.post<{ Params: { id: string }; Body: { name: string; args?: Record<string, unknown>; ttlSec?: number } }>(
    '/api/v1/devices/:id/commands',
    {
      config: { roles: FIELD_ROLES },
      schema: {
        summary: 'Send a command; an offline device gets it at its next birth, unless it expires first',
        tags: ['commands'],
        params: deviceIdParam,
        body: commandBody,
        response: { 201: commandSchema },
      },
    },
    async (request, reply) => {
      const device = requireDevice(deps, request.params.id, request);
      const { name, args, ttlSec } = request.body;
      const view = await commands.create(device, { name, ...(args ? { args } : {}), ...(ttlSec ? { ttlSec } : {}), requestedBy: request.principal?.tokenId ?? 'unknown' });
      await request.audit({ action: 'command.send', target: device.id, detail: { cmdId: view.cmdId, name } });
      return reply.code(201).send(view);
    },
  );

  app.get<{ Params: { id: string; cmdId: string } }>(
    '/api/v1/devices/:id/commands/:cmdId',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: "A command's status, with the device's result or error",
        tags: ['commands'],
        params: { type: 'object', required: ['id', 'cmdId'], additionalProperties: false, properties: { ...deviceIdParam.properties, cmdId: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: commandSchema },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const view = await commands.get(device.id, request.params.cmdId);
      if (!view) throw new IngestError('INGEST_ERR_NOT_FOUND', `no command "${request.params.cmdId}" for device "${device.id}"`);
      return view;
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number } }>(
    '/api/v1/devices/:id/commands',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Commands of a device, newest first',
        tags: ['commands'],
        params: deviceIdParam,
        querystring: limitQuery(1000, 50),
        response: { 200: page('commands', commandSchema) },
      },
    },
    async (request) => {
      const device = requireDevice(deps, request.params.id, request);
      const list = await commands.list(device.id, request.query.limit);
      return { count: list.length, commands: list };
    },
  );
}
