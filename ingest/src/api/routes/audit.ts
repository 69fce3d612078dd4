import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../../audit/audit-log.js';
import { ADMIN_ONLY } from '../roles.js';

interface AuditQs {
  limit: number;
  action?: string;
  target?: string;
  actor?: string;
  before?: string;
}

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
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            action: { type: 'string', maxLength: 80, description: 'e.g. device.revoke' },
            target: { type: 'string', maxLength: 200, description: 'e.g. a device id' },
            actor: { type: 'string', maxLength: 120, description: 'token id, `bootstrap`, or an OS user (CLI)' },
            before: { type: 'string', description: 'ISO 8601 or epoch ms: entries strictly before (paging)' },
          },
        },
      },
    },
    async (request) => {
      const { limit, action, target, actor, before } = request.query;
      const beforeMs = before === undefined ? undefined : /^\d+$/.test(before) ? Number(before) : Date.parse(before);
      const entries = await audit.list({
        limit,
        ...(action ? { action } : {}),
        ...(target ? { target } : {}),
        ...(actor ? { actorId: actor } : {}),
        ...(beforeMs !== undefined && !Number.isNaN(beforeMs) ? { before: beforeMs } : {}),
      });
      return { count: entries.length, entries };
    },
  );
}
