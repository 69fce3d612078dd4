import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { FIELD_ROLES } from '../roles.js';

export async function deadLetterRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: { limit: number; before?: number; deviceId?: string } }>(
    '/api/v1/dead-letters',
    {
      // Raw device payloads: for the people who debug devices (and admins).
      config: { roles: FIELD_ROLES },
      schema: {
        summary: 'Messages the ingest could not accept, newest first, each with the reason',
        tags: ['dead letters'],
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            before: { type: 'integer', description: 'only ids below this (for paging: pass the previous page\'s nextBefore)' },
            deviceId: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const { limit, before, deviceId } = request.query;
      const deadLetters = await deps.operations.listDeadLetters({ limit, ...(before !== undefined ? { beforeId: before } : {}), ...(deviceId ? { deviceId } : {}) });
      const total = await deps.operations.countDeadLetters();
      const last = deadLetters.at(-1);
      return { total, count: deadLetters.length, nextBefore: deadLetters.length === limit && last ? last.id : null, deadLetters };
    },
  );
}
