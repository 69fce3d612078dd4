import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';

/** Public (no token), so load balancers and probes can use it; it reveals no device data. */
export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get('/api/v1/health', { config: { public: true }, schema: { summary: 'Liveness and readiness of the ingest', tags: ['health'] } }, async () => deps.health());
}
