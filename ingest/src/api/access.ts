import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEntry, AuditEntryInput, AuditLog } from './audit-log.js';
import { canSeeWelfare, isWelfareRecord, redactWelfare, roleAllowed } from './roles.js';
import type { TokenStore } from './tokens.js';
import { errorBody } from './error-body.js';

export interface AccessOptions {
  tokens: TokenStore;
  audit: AuditLog;
}

const BEARER = /^Bearer\s+(\S+)$/i;

function isPublic(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/docs') || (request.routeOptions.config as { public?: boolean } | undefined)?.public === true;
}

function refuse(request: FastifyRequest, reply: FastifyReply, status: 401 | 403, message: string, extra: object = {}): FastifyReply {
  request.log.warn({ event: 'api_denied', status, method: request.method, url: request.url.slice(0, 256), ip: request.ip, ...extra }, `API request refused (${status})`);
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="tsunagaru"');
  return reply.code(status).send(errorBody(status, message));
}

/**
 * The API's one access check, run as an onRequest hook before anything else:
 * 1. public routes (`config: { public: true }`, `/api/docs`) pass;
 * 2. otherwise a valid bearer token is required (401), which sets `request.principal`;
 * 3. the token's role must be in the route's `config.roles` (admin always is; no declaration = admin
 *    only), else 403 — unknown URLs skip this step and get their 404.
 * A preSerialization hook then strips welfare data from every response to a role without welfare
 * access (roles.ts `redactWelfare`), whatever route built it.
 * `request.audit({ action, target, detail })` appends to the audit log with the caller as actor.
 */
export function installAccessControl(app: FastifyInstance, options: AccessOptions): void {
  const { tokens, audit } = options;
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', function (this: FastifyRequest, entry: AuditEntryInput): Promise<AuditEntry> {
    const p = this.principal;
    const actor = p ? { kind: 'token' as const, id: p.tokenId, name: p.name, role: p.role } : { kind: 'token' as const, id: 'anonymous' };
    return audit.record(actor, { ...entry, ip: this.ip });
  });

  app.addHook('onRequest', async (request, reply) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (isPublic(request)) {
      // A public route may say more to a caller with a valid token (health); a wrong token is just anonymous.
      if (match) request.principal = (await tokens.authenticate(match[1]!)) ?? null;
      return;
    }
    const principal = match ? await tokens.authenticate(match[1]!) : undefined;
    if (!principal) {
      return refuse(request, reply, 401, 'send "Authorization: Bearer <token>"; tokens come from `npm run tokens -- add <role>`, or TSUNAGARU_ADMIN_TOKEN / the one printed at start');
    }
    request.principal = principal;
    if (request.is404) return;
    const declared = request.routeOptions.config?.roles;
    if (!roleAllowed(principal.role, declared)) {
      return refuse(request, reply, 403, `role ${principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}`, { role: principal.role, tokenId: principal.tokenId });
    }
  });

  app.addHook('preSerialization', async (request, reply, payload) => {
    const role = request.principal?.role;
    if (!role || canSeeWelfare(role) || payload === null || typeof payload !== 'object') return payload;
    if (!Array.isArray(payload) && isWelfareRecord(payload as Record<string, unknown>)) {
      void reply.code(404);
      return errorBody(404, 'not found');
    }
    return redactWelfare(payload);
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Appends to the audit log as the authenticated caller (never put secrets or tokens in `detail`). */
    audit(entry: AuditEntryInput): Promise<AuditEntry>;
  }
}
