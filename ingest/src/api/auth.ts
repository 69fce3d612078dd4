/**
 * API authentication and authorisation live in access.ts (bearer token → role → the route's
 * `config.roles`), tokens in tokens.ts, roles in roles.ts. This module keeps the route-config flag
 * for routes that need no token at all.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route anyone may call without a token (health, docs, the console's static shell). */
    public?: boolean;
  }
}

export {};
