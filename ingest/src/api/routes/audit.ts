import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit-log.js';
import { ADMIN_ONLY } from '../roles.js';
import { epochMs, page, queryText, timeParam } from '../schemas.js';
import { parseTime } from '../time-range.js';

interface AuditQs {
  limit: number;
  action?: string;
  target?: string;
  actor?: string;
  before?: number | string;
}

const auditEntry = {
  type: 'object',
  required: ['at', 'actor', 'action', 'target', 'outcome'],
  additionalProperties: false,
  properties: {
    at: epochMs,
    actor: {
      type: 'object',
      required: ['kind', 'id'],
      additionalProperties: false,
      properties: { kind: { type: 'string', enum: ['token', 'cli'] }, id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
    },
    action: { type: 'string' },
    target: { type: 'string' },
    outcome: { type: 'string', enum: ['ok', 'failed'] },
    detail: { type: 'object', additionalProperties: true },
    ip: { type: 'string' },
  },
} as const;

/** The audit log, newest first: admin only. */
export async function auditRoutes(app: FastifyInstance, audit: AuditLog): Promise<void> {
  app.get<{ Querystring: AuditQs }>(
    '/api/v1/audit',
    {
      config: { roles: ADMIN_ONLY },
      schema: {
        summary: 'Who did what and when: provisioning, secrets, disabling, revocation, tokens, commands, acknowledgements',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            action: queryText(80, 'e.g. device.revoke'),
            target: queryText(200, 'e.g. a device id'),
            actor: queryText(120, 'token id, `bootstrap`, or an OS user (CLI)'),
            before: timeParam('entries strictly before (paging: the last `at` of the previous page)'),
          },
        },
        response: { 200: page('entries', auditEntry) },
      },
    },
    async (request) => {
      const { limit, action, target, actor } = request.query;
      const before = parseTime('before', request.query.before);
      const entries = await audit.list({
        limit,
        ...(action ? { action } : {}),
        ...(target ? { target } : {}),
        ...(actor ? { actorId: actor } : {}),
        ...(before !== undefined ? { before } : {}),
      });
      return { count: entries.length, entries };
    },
  );
}
