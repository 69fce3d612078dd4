import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROLES, roleAllowed } from './roles.js';
import { refuseInfiniteNumbers } from './finite-query.js';
import { ref } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers 429 (with Retry-After) past a concurrency bound, e.g. exports. */
    limited?: boolean;
  }
}

type Schema = Record<string, unknown> & { response?: Record<string, unknown>; description?: string };

/**
 * Completes every route's contract from its declaration, as it is added, so no route can be added without
 * it: who may call it (`x-roles` and a sentence in the description; public routes `security: []`) and the
 * errors it can answer, each with the `Error` component: 400 when it takes input, 401 unless public, 403
 * when some role is refused, 404 when its path names something, 429 when `config.limited`, 503 when it
 * reads the store (any authenticated route may meet a busy store).
 */
export function completeContracts(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema: Schema = { ...((route.schema as Schema | undefined) ?? {}) };
    if (schema.hide) return;
    const config = (route.config ?? {}) as { public?: boolean; roles?: readonly (typeof ROLES)[number][]; limited?: boolean };
    const response: Record<string, unknown> = { ...(schema.response ?? {}) };
    const add = (status: number) => (response[status] ??= ref('Error'));
    const named = route.url.includes(':');
    if (schema.querystring || schema.params || schema.body || named) add(400);
    if (config.public) {
      schema.security = [];
      schema['x-roles'] = ['public'];
      schema.description = withRoles(schema.description, 'Public: no token needed.');
    } else {
      const roles = ROLES.filter((r) => roleAllowed(r, config.roles));
      schema['x-roles'] = roles;
      schema.description = withRoles(schema.description, `Roles: ${roles.join(', ')}.`);
      add(401);
      if (roles.length < ROLES.length) add(403);
      add(503);
    }
    if (named) {
      add(404);
      add(414);
    }
    if (config.limited) add(429);
    schema.response = response;
    route.schema = schema;
    refuseInfiniteNumbers(route);
  });
}

const withRoles = (description: string | undefined, roles: string) => (description ? `${description}\n\n${roles}` : roles);
