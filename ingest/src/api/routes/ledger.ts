import type { FastifyInstance } from 'fastify';
import { IngestError } from '../../errors.js';
import type { CompletenessLedger } from '../../ledger/ledger.js';
import type { ApiDeps } from '../deps.js';
import { READ_ROLES } from '../roles.js';
import { deviceIdParam, errorSchema } from '../schemas.js';

/** Most gaps listed per boot; the counts stay exact. */
const MAX_GAPS_LISTED = 1000;

const range = { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2, description: '[from, to], inclusive' } as const;

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
        querystring: { type: 'object', properties: { gapsOnly: { type: 'boolean', description: 'only devices with at least one gap' } } },
      },
    },
    async (request) => {
      const known = new Map(ledger.summary().map((s) => [s.deviceId, s]));
      const devices = deps.registry
        .listDevices()
        .map((d) => {
          const s = known.get(d.id);
          known.delete(d.id);
          return { deviceId: d.id, type: d.type, boots: s?.boots ?? 0, received: s?.received ?? 0, gaps: s?.gaps ?? 0, missing: s?.missing ?? 0, duplicates: s?.duplicates ?? 0, lastMessageAt: s?.lastMessageAt ?? null, latestBoot: s?.latestBoot ?? null };
        })
        // Devices deprovisioned since still have their history.
        .concat([...known.values()].map((s) => ({ ...s, type: null as never })))
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
                    lastMessageAt: { type: 'integer', description: 'epoch ms the ingest received the latest message' },
                  },
                },
              },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const boots = ledger.device(id);
      if (!boots && !deps.registry.getDevice(id)) throw new IngestError('INGEST_ERR_NOT_FOUND', `device "${id}" is not provisioned and has no ledger`);
      return {
        deviceId: id,
        boots: (boots ?? []).map((b) => ({ ...b, ranges: b.ranges.slice(0, MAX_GAPS_LISTED + 1), gaps: b.gaps.slice(0, MAX_GAPS_LISTED), gapsListed: Math.min(b.gaps.length, MAX_GAPS_LISTED) })),
      };
    },
  );
}
