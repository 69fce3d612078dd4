import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Bearer-token check. Both sides are hashed first so the comparison is constant-time whatever the
 * token lengths, and only the hash of the admin token stays in memory.
 */
export function bearerAuth(adminToken: string) {
  const expected = digest(adminToken);
  return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if ((request.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      request.log.warn({ event: 'api_denied', url: request.url.slice(0, 256), ip: request.ip }, 'API request without a valid bearer token');
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="tsunagaru"')
        .send({ statusCode: 401, code: 'INGEST_ERR_UNAUTHORIZED', error: 'Unauthorized', message: 'send "Authorization: Bearer <token>"; the token is TSUNAGARU_ADMIN_TOKEN or the one printed at start' });
    }
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route anyone may call without a token (health, docs, the console's static shell). */
    public?: boolean;
  }
}
