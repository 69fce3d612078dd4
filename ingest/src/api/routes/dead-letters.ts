import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { FIELD_ROLES } from '../roles.js';
import { epochMs, page } from '../schemas.js';

const deadLetter = {
  type: 'object',
  required: ['id', 'receivedAt', 'topic', 'deviceId', 'payload', 'payloadBytes', 'truncated', 'reason'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    receivedAt: epochMs,
    topic: { type: 'string' },
    deviceId: { type: ['string', 'null'], description: 'from the topic, when it could be parsed' },
    payload: { type: 'string', description: 'as received, cut at the store bound' },
    payloadBytes: { type: 'integer' },
    truncated: { type: 'boolean' },
    reason: { type: 'string', description: 'why it was not accepted, naming the field' },
  },
} as const;

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
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            before: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "only ids below this (for paging: pass the previous page's nextBefore)" },
            deviceId: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          200: page('deadLetters', deadLetter, {
            total: { type: 'integer', minimum: 0 },
            nextBefore: { type: ['integer', 'null'], description: 'pass as `before` for the next page; null on the last' },
          }),
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
