import { DEVICE_TYPES, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestError } from '../../errors.js';
import type { CompletenessLedger } from '../../ledger/ledger.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, READ_ROLES, roleOf, type Role } from '../roles.js';
import { deviceIdParam, epochMs, page } from '../schemas.js';

/** Most gaps listed per boot; the counts stay exact. */
const MAX_GAPS_LISTED = 1000;

const range = { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2, description: '[from, to], inclusive' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const ledgerSummary = {
  type: 'object',
  required: ['deviceId', 'type', 'boots', 'received', 'gaps', 'missing', 'duplicates', 'lastMessageAt', 'latestBoot'],
  additionalProperties: false,
  properties: {
    deviceId: { type: 'string' },
    type: { type: ['string', 'null'], description: 'null for a device no longer provisioned' },
    boots: count,
    received: count,
    gaps: count,
    missing: count,
    duplicates: count,
    lastMessageAt: { type: ['integer', 'null'], description: "epoch ms the ingest received the device's latest message (its status' lastSeen)" },
    latestBoot: { type: ['integer', 'null'] },
  },
} as const;


/** The ledger follows the device scope of roles.ts: a device of a type the role does not work with is not there (404). */
const inScope = (role: Role, type: DeviceType | null): boolean => (type === null ? role === 'admin' || DEVICE_TYPES.every((t) => canSeeDeviceType(role, t)) : canSeeDeviceType(role, type));

/**
 * The completeness ledger (contract v1 "Envelope": seq is +1 per message in a boot, so a hole is a lost
 * message). Summary per device, and per boot the received ranges and the gaps; a gap filled later by a
 * replay disappears. Devices that were provisioned but never sent anything are listed with nothing received.
 */
export async function ledgerRoutes(app: FastifyInstance, deps: ApiDeps, ledger: CompletenessLedger): Promise<void> {
  app.get<{ Querystring: { gapsOnly?: boolean } }>(
    '/api/v1/ledger',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Completeness per device: messages received, gaps and missing messages, last message',
        tags: ['ledger'],
        querystring: { type: 'object', additionalProperties: false, properties: { gapsOnly: { type: 'boolean', description: 'only devices with at least one gap' } } },
        response: {
          200: page('devices', ledgerSummary, {
            totals: { type: 'object', required: ['received', 'gaps', 'missing', 'duplicates'], additionalProperties: false, properties: { received: count, gaps: count, missing: count, duplicates: count } },
          }),
        },
      },
    },
    async (request) => {
      const role = roleOf(request);
      const known = new Map(ledger.summary().map((s) => [s.deviceId, s]));
      // When each device was last heard: its status, the one source (as the silence rule and GET /devices see it).
      const lastSeen = new Map((await deps.operations.listStatus()).map((s) => [s.deviceId, s.lastSeen]));
      const devices = deps.registry
        .listDevices()
        .map((d) => {
          const s = known.get(d.id);
          known.delete(d.id);
          return { deviceId: d.id, type: d.type, boots: s?.boots ?? 0, received: s?.received ?? 0, gaps: s?.gaps ?? 0, missing: s?.missing ?? 0, duplicates: s?.duplicates ?? 0, lastMessageAt: lastSeen.get(d.id) ?? null, latestBoot: s?.latestBoot ?? null };
        })
        // Devices deprovisioned since still have their history; their type is gone, so only roles that see
        // every type see them.
        .concat([...known.values()].map((s) => ({ ...s, type: null as never, lastMessageAt: lastSeen.get(s.deviceId) ?? null })))
        .filter((d) => inScope(role, d.type))
        .filter((d) => !request.query.gapsOnly || d.gaps > 0)
        .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
      const totals = devices.reduce((t, d) => ({ received: t.received + d.received, gaps: t.gaps + d.gaps, missing: t.missing + d.missing, duplicates: t.duplicates + d.duplicates }), { received: 0, gaps: 0, missing: 0, duplicates: 0 });
      return { count: devices.length, totals, devices };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/ledger/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Completeness of one device per boot: received seq ranges, gaps, duplicates, last message',
        tags: ['ledger'],
        params: deviceIdParam,
        response: {
          200: {
            type: 'object',
            properties: {
              deviceId: { type: 'string' },
              boots: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    boot: { type: 'integer' },
                    received: { type: 'integer' },
                    highestSeq: { type: ['integer', 'null'] },
                    ranges: { type: 'array', items: range },
                    gaps: { type: 'array', items: range },
                    gapsListed: { type: 'integer' },
                    missing: { type: 'integer' },
                    duplicates: { type: 'integer' },
                    lastMessageAt: { ...epochMs, description: 'epoch ms the ingest received the latest message' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const device = deps.registry.getDevice(id);
      const boots = inScope(roleOf(request), device?.type ?? null) ? ledger.device(id) : undefined;
      if (!boots && (!device || !inScope(roleOf(request), device.type))) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned and has no ledger`);
      return {
        deviceId: id,
        boots: (boots ?? []).map((b) => ({ ...b, ranges: b.ranges.slice(0, MAX_GAPS_LISTED + 1), gaps: b.gaps.slice(0, MAX_GAPS_LISTED), gapsListed: Math.min(b.gaps.length, MAX_GAPS_LISTED) })),
      };
    },
  );
}
