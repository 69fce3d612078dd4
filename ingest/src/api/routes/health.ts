import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';

const open = { type: 'object', additionalProperties: true } as const;

/**
 * Public (no token), so load balancers and probes can use it: without a token it answers the status only,
 * nothing about the deployment (no store path, no broker address). With any valid token it adds the
 * detail: broker connection, store, counters, journal and drainer, the API's readers and exports.
 */
export async function healthRoutes(app: FastifyInstance, deps: ApiDeps, apiStatus: () => Record<string, unknown>): Promise<void> {
  app.get(
    '/api/v1/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness and readiness of the ingest: status for everyone, detail with a token',
        tags: ['health'],
        response: {
          200: {
            type: 'object',
            required: ['status'],
            additionalProperties: false,
            properties: {
              status: { type: 'string', enum: ['ok', 'degraded'] },
              mqtt: { ...open, description: 'with a token: broker connection' },
              store: { ...open, description: 'with a token: the store(s)' },
              counters: { ...open, description: 'with a token: messages received, stored, dead-lettered…' },
              ingest: { ...open, description: 'with a token: journal and drainer' },
              alerts: { ...open, description: "with a token: whether the alerts open before the start are still being loaded (restoring), and the water rules' reads of the store (night flows, each household's month)" },
              integrations: { ...open, description: 'with a token: ChirpStack and Sparkplug connections and counters' },
              api: { ...open, description: 'with a token: exports running, store readers, HTTP connections' },
              started: { ...open, description: 'with a token: how long this start took (ms), by part: store, alerts, journal…' },
            },
          },
        },
      },
    },
    async (request) => {
      const report = deps.health();
      if (!request.principal) return { status: report.status };
      return { ...report, api: apiStatus() };
    },
  );
}
