import { buildTopic, devicePrefix, type DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { ADMIN_ONLY, FIELD_ROLES } from '../roles.js';
import { deviceIdParam, ref } from '../schemas.js';
import { epochMsOf } from './devices.js';

/** What these routes return about a device: never the secret hash. */
function credentialView(d: DeviceRecord) {
  return { id: d.id, type: d.type, disabled: d.disabled, updatedAt: epochMsOf(d.updatedAt) };
}

const deviceResult = ref('DeviceCredential');

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * Credential lifecycle of a provisioned device (provisioning itself is `POST /api/v1/devices`):
 * rotate its secret, disable/enable it, revoke it. The broker follows the registry, so each of these
 * closes the device's live MQTT session at once (rotate, disable, revoke). Every call is audited.
 */
export async function provisioningRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const requireDevice = (id: string): DeviceRecord => {
    const device = deps.registry.getDevice(id);
    if (!device) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned`);
    return device;
  };

  app.post<{ Params: { id: string } }>(
    '/api/v1/devices/:id/rotate-secret',
    {
      config: { roles: FIELD_ROLES },
      schema: {
        summary: 'Issue a new MQTT secret (shown once); the old one stops working and a live session is closed',
        tags: ['provisioning'],
        params: deviceIdParam,
        response: {
          200: {
            type: 'object',
            required: ['device', 'secret', 'mqtt'],
            additionalProperties: false,
            properties: { device: deviceResult, secret: { type: 'string', description: 'the new MQTT secret, shown only this once' }, mqtt: ref('MqttAccess') },
          },
        },
      },
    },
    async (request: IdRequest) => {
      requireDevice(request.params.id);
      const { device, secret } = await deps.registry.rotateSecret(request.params.id);
      await request.audit({ action: 'device.rotate-secret', target: device.id });
      return {
        device: credentialView(device),
        secret,
        mqtt: { url: deps.mqttPublicUrl ?? '', username: device.id, publishPrefix: devicePrefix(device.type, device.id), subscribe: buildTopic(device.type, device.id, 'cmd') },
      };
    },
  );

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/devices/:id/${verb}`,
      {
        config: { roles: FIELD_ROLES },
        schema: {
          summary: disabled ? 'Disable a device: it can no longer log in, and a live session is closed' : 'Enable a disabled device',
          tags: ['provisioning'],
          params: deviceIdParam,
          response: { 200: { type: 'object', required: ['device'], additionalProperties: false, properties: { device: deviceResult } } },
        },
      },
      async (request: IdRequest) => {
        requireDevice(request.params.id);
        const device = await deps.registry.setDisabled(request.params.id, disabled);
        await request.audit({ action: `device.${verb}`, target: device.id });
        return { device: credentialView(device) };
      },
    );
  }

  const revoke = async (request: IdRequest) => {
    requireDevice(request.params.id);
    const device = await deps.registry.revoke(request.params.id);
    await request.audit({ action: 'device.revoke', target: device.id });
    return { device: credentialView(device), revoked: true };
  };
  const revokeSchema = {
    tags: ['provisioning'],
    params: deviceIdParam,
    response: { 200: { type: 'object', required: ['device', 'revoked'], additionalProperties: false, properties: { device: deviceResult, revoked: { type: 'boolean' } } } },
  };
  app.post<{ Params: { id: string } }>(
    '/api/v1/devices/:id/revoke',
    { config: { roles: ADMIN_ONLY }, schema: { summary: 'Revoke a device: disabled and its secret destroyed; the live session is closed. Re-admit with rotate-secret + enable', ...revokeSchema } },
    revoke,
  );
  // DELETE keeps the record (readings and audit refer to it) and revokes it: the same as POST …/revoke.
  app.delete<{ Params: { id: string } }>('/api/v1/devices/:id', { config: { roles: ADMIN_ONLY }, schema: { summary: 'Same as POST /devices/:id/revoke', ...revokeSchema } }, revoke);
}
