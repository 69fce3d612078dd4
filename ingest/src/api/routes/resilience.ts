import type { FastifyInstance } from 'fastify';
import type { AlertEngine } from '../../alerts/engine.js';
import { resilienceReport } from '../../alerts/resilience.js';
import { FIELD_ROLES } from '../roles.js';

export async function resilienceRoutes(app: FastifyInstance, engine: AlertEngine): Promise<void> {
  app.get(
    '/api/v1/resilience',
    // Disaster ops and field engineers; the water bureau's view is its meters.
    { config: { roles: [...FIELD_ROLES, 'disaster-ops'] }, schema: { summary: 'Disaster view: every bs-power site with its time to dark; every ring segment and island with its status', tags: ['alerts'] } },
    async () => {
      await engine.idle();
      return resilienceReport(engine);
    },
  );
}
