import { describeScope, generateSecret, type IntegrationScope, type ServiceAccount } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { IngestError } from '../../errors.js';
import type { Integrations } from '../../integrations/index.js';
import type { ApiDeps } from '../deps.js';
import { ADMIN_ONLY, canSeeDeviceType, READ_ROLES, roleOf } from '../roles.js';
import { deviceIdParam, epochMs } from '../schemas.js';
import { epochMsOf } from './devices.js';

const USERNAME = '^[A-Za-z0-9_-]{1,64}$';
const LEVEL = '^[^/+#$\\u0000][^/+#\\u0000]{0,127}$';

const integrationView = {
  type: 'object',
  required: ['username', 'integration', 'createdAt', 'description'],
  additionalProperties: false,
  properties: {
    username: { type: 'string' },
    integration: {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: { type: { type: 'string', enum: ['chirpstack', 'sparkplug'] }, applicationId: { type: 'string' }, groupId: { type: 'string' }, edgeNodeId: { type: 'string' } },
    },
    description: { type: 'string' },
    createdAt: epochMs,
  },
} as const;

const mqttRights = {
  type: 'object',
  required: ['url', 'username', 'clientId', 'publish', 'subscribe'],
  additionalProperties: false,
  properties: {
    url: { type: 'string' },
    username: { type: 'string' },
    clientId: { type: 'string', description: 'the client id to use: the username, or the username followed by ":" and anything' },
    publish: { type: 'array', items: { type: 'string' } },
    subscribe: { type: 'array', items: { type: 'string' } },
  },
} as const;

const credentials = {
  type: 'object',
  required: ['integration', 'secret', 'mqtt'],
  additionalProperties: false,
  properties: { integration: integrationView, secret: { type: 'string', description: 'the MQTT password, shown only this once' }, mqtt: mqttRights },
} as const;

type CreateBody = { type: 'chirpstack'; applicationId: string; username?: string } | { type: 'sparkplug'; groupId: string; edgeNodeId?: string; username?: string };

function view(s: ServiceAccount) {
  return { username: s.username, integration: { ...s.integration! }, description: describeScope(s.integration!), createdAt: epochMsOf(s.createdAt) };
}

function rights(scope: IntegrationScope): { publish: string[]; subscribe: string[] } {
  if (scope.type === 'chirpstack') {
    return { publish: [`application/${scope.applicationId}/device/+/event/+`], subscribe: [`application/${scope.applicationId}/device/+/command/down`] };
  }
  const node = scope.edgeNodeId ?? '+';
  return {
    publish: ['NBIRTH', 'NDEATH', 'NDATA'].map((v) => `spBv1.0/${scope.groupId}/${v}/${node}`).concat(['DBIRTH', 'DDEATH', 'DDATA'].map((v) => `spBv1.0/${scope.groupId}/${v}/${node}/+`)),
    subscribe: [`spBv1.0/${scope.groupId}/NCMD/${node}`, `spBv1.0/${scope.groupId}/DCMD/${node}/+`, 'spBv1.0/STATE/+'],
  };
}

/** A username from the scope when its ids fit the username alphabet (a ChirpStack application UUID does). */
function defaultUsername(scope: IntegrationScope): string | undefined {
  const name = scope.type === 'chirpstack' ? `chirpstack-${scope.applicationId}` : `sparkplug-${scope.groupId}${scope.edgeNodeId ? `-${scope.edgeNodeId}` : ''}`;
  return new RegExp(USERNAME).test(name) ? name : undefined;
}

/**
 * Integration principals on our broker (issue 20): a ChirpStack application's MQTT integration, or Sparkplug
 * edge nodes of a group. Each gets a username and a secret (shown once) with rights to exactly its own topics
 * (broker/src/integrations/integration-acl.ts). Admin only; audited. LoRaWAN meters' state (sessions, status
 * from the network server) is readable per meter.
 */
export async function integrationRoutes(app: FastifyInstance, deps: ApiDeps, integrations: Integrations | undefined): Promise<void> {
  app.post<{ Body: CreateBody }>(
    '/api/v1/integrations',
    {
      config: { roles: ADMIN_ONLY },
      schema: {
        summary: 'Create an integration principal on the broker (ChirpStack application or Sparkplug edge nodes); the secret is shown only this once',
        tags: ['integrations'],
        body: {
          oneOf: [
            {
              type: 'object',
              required: ['type', 'applicationId'],
              additionalProperties: false,
              properties: { type: { const: 'chirpstack' }, applicationId: { type: 'string', pattern: LEVEL, description: 'ChirpStack application id (UUID)' }, username: { type: 'string', pattern: USERNAME } },
            },
            {
              type: 'object',
              required: ['type', 'groupId'],
              additionalProperties: false,
              properties: {
                type: { const: 'sparkplug' },
                groupId: { type: 'string', pattern: LEVEL, description: 'Sparkplug group id' },
                edgeNodeId: { type: 'string', pattern: LEVEL, description: 'only this edge node of the group (default: every edge node of the group)' },
                username: { type: 'string', pattern: USERNAME },
              },
            },
          ],
        },
        response: { 201: credentials, 409: { $ref: 'Error#' } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const scope: IntegrationScope = body.type === 'chirpstack' ? { type: 'chirpstack', applicationId: body.applicationId } : { type: 'sparkplug', groupId: body.groupId, ...(body.edgeNodeId ? { edgeNodeId: body.edgeNodeId } : {}) };
      const username = body.username ?? defaultUsername(scope);
      if (!username) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'body.username: required, because the ids do not fit a username (1-64 of A-Z a-z 0-9 _ -)');
      if (deps.registry.getService(username) || deps.registry.getDevice(username)) {
        throw new IngestError('INGEST_ERR_CONFLICT', `"${username}" is taken; rotate its secret with POST /api/v1/integrations/${username}/rotate-secret, or choose another username`);
      }
      const secret = generateSecret();
      const account = await deps.registry.upsertService(username, 'integration', secret, scope);
      request.log.info({ event: 'integration_created', username, integration: scope }, 'integration principal created');
      await request.audit({ action: 'integration.create', target: username, detail: { ...scope } });
      return reply.code(201).send({ integration: view(account), secret, mqtt: { url: deps.mqttPublicUrl ?? '', username, clientId: username, ...rights(scope) } });
    },
  );

  app.post<{ Params: { username: string } }>(
    '/api/v1/integrations/:username/rotate-secret',
    {
      config: { roles: ADMIN_ONLY },
      schema: {
        summary: 'Issue a new secret for an integration principal (shown once); the old one stops working and its live session is closed',
        tags: ['integrations'],
        params: { type: 'object', required: ['username'], additionalProperties: false, properties: { username: { type: 'string', pattern: USERNAME } } },
        response: { 200: credentials },
      },
    },
    async (request) => {
      const current = deps.registry.getService(request.params.username);
      if (!current || current.role !== 'integration') throw new IngestError('INGEST_ERR_NOT_FOUND', `no integration principal "${request.params.username}"`);
      const secret = generateSecret();
      const account = await deps.registry.upsertService(current.username, 'integration', secret, current.integration);
      await request.audit({ action: 'integration.rotate-secret', target: current.username });
      return { integration: view(account), secret, mqtt: { url: deps.mqttPublicUrl ?? '', username: current.username, clientId: current.username, ...rights(current.integration!) } };
    },
  );

  app.get(
    '/api/v1/integrations',
    {
      config: { roles: ADMIN_ONLY },
      schema: {
        summary: 'Integration principals and what each may publish and subscribe to; never a secret',
        tags: ['integrations'],
        response: {
          200: {
            type: 'object',
            required: ['count', 'integrations'],
            additionalProperties: false,
            properties: { count: { type: 'integer' }, integrations: { type: 'array', items: integrationView } },
          },
        },
      },
    },
    async () => {
      const list = deps.registry.listServices().filter((s) => s.role === 'integration').map(view);
      return { count: list.length, integrations: list };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/integrations/lorawan/devices/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'A LoRaWAN meter as its network server reports it: sessions (joins → boots), battery and link margin, latest reception',
        tags: ['integrations'],
        params: deviceIdParam,
        response: {
          200: {
            type: 'object',
            required: ['deviceId', 'devEui', 'applicationId', 'boot', 'sessions', 'status', 'lastUplink'],
            additionalProperties: false,
            properties: {
              deviceId: { type: 'string' },
              devEui: { type: 'string' },
              applicationId: { type: 'string' },
              boot: { type: ['integer', 'null'] },
              sessions: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['boot', 'joinedAt', 'fcntBase'],
                  additionalProperties: false,
                  properties: { boot: { type: 'integer' }, joinedAt: { type: ['integer', 'null'], description: 'epoch ms of the join; null: first heard mid-session' }, fcntBase: { type: 'integer', description: 'the fCnt that is seq 0 of this boot' } },
                },
              },
              status: {
                type: ['object', 'null'],
                required: ['batteryPct', 'externalPower', 'marginDb', 'at'],
                additionalProperties: false,
                properties: { batteryPct: { type: ['number', 'null'] }, externalPower: { type: 'boolean' }, marginDb: { type: 'integer' }, at: epochMs },
              },
              lastUplink: {
                type: ['object', 'null'],
                required: ['at', 'fCnt', 'rssiDbm', 'snrDb', 'gatewayId'],
                additionalProperties: false,
                properties: { at: epochMs, fCnt: { type: 'integer' }, rssiDbm: { type: ['number', 'null'] }, snrDb: { type: ['number', 'null'] }, gatewayId: { type: ['string', 'null'] } },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const device = deps.registry.getDevice(request.params.id);
      const lora = device && canSeeDeviceType(roleOf(request), device.type) ? integrations?.lorawanDevice(device.id) : undefined;
      if (!lora) throw new IngestError('INGEST_ERR_NOT_FOUND', `no LoRaWAN meter "${request.params.id}" has been heard through ChirpStack`);
      return lora;
    },
  );
}
