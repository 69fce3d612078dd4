import type { FastifyInstance } from 'fastify';
import type { AlertEngine } from '../../alerts/engine.js';
import { resilienceReport } from '../resilience-report.js';
import { FIELD_ROLES } from '../roles.js';
import { epochMs } from '../schemas.js';

/**
 * api/resilience-report.ts `resilienceReport`. Open (additionalProperties) at every level: the report grows
 * with the alert model; the fields listed are the ones clients may rely on.
 */
const open = { type: 'object', additionalProperties: true } as const;
const resilienceSchema = {
  type: 'object',
  required: ['generatedAt', 'sites', 'ring', 'summary'],
  additionalProperties: true,
  properties: {
    generatedAt: epochMs,
    sites: {
      type: 'array',
      items: {
        type: 'object',
        required: ['deviceId', 'timeToDarkMin', 'targetHours', 'countingDown'],
        additionalProperties: true,
        properties: {
          deviceId: { type: 'string' },
          site: { type: ['string', 'null'] },
          timeToDarkMin: { type: ['integer', 'null'], description: 'minutes left now: the estimate counted down since its reading while on battery; null when unknown' },
          estimateMin: { type: ['integer', 'null'], description: 'the estimate as of its reading (estimateAt, device time)' },
          estimateAt: { type: ['integer', 'null'] },
          source: { type: ['string', 'null'], enum: ['controller', 'computed', null], description: 'controller: the controller\'s estimate (spent over the site\'s daily load when known); computed: the ingest\'s own' },
          controllerBatteryMin: { type: ['integer', 'null'], description: 'the controller\'s battery estimate as reported (runtimeMin)' },
          computedBatteryMin: { type: ['integer', 'null'], description: 'the ingest\'s own battery estimate (Peukert, SoH, IEEE 485 temperature, the site\'s daily load)' },
          targetHours: { type: 'number' },
          meetsTarget: { type: ['boolean', 'null'] },
          countingDown: { type: 'boolean', description: 'on battery (mains off)' },
          silent: { type: 'boolean', description: 'not heard from for longer than the silence rule allows' },
          presumedDark: { type: 'boolean', description: 'silent on battery for longer than its time to dark' },
          stale: { type: 'boolean', description: 'its latest reading is older than the silence rule allows' },
          dataAgeSec: { type: ['integer', 'null'], description: 'age of its latest reading (device time), s' },
          readingTs: { type: ['integer', 'null'] },
        },
      },
    },
    ring: { ...open, properties: { name: { type: 'string' }, isolated: { type: 'array', items: { type: 'string' } }, islands: { type: 'array', items: open }, segments: { type: 'array', items: open }, upstream: { type: 'array', items: open } } },
    summary: open,
  },
} as const;

export async function resilienceRoutes(app: FastifyInstance, engine: AlertEngine): Promise<void> {
  app.get(
    '/api/v1/resilience',
    // Disaster ops and field engineers; the water bureau's view is its meters.
    {
      config: { roles: [...FIELD_ROLES, 'disaster-ops'] },
      schema: {
        summary: 'Disaster view: every bs-power site with its time to dark; every ring segment and island with its status',
        tags: ['alerts'],
        response: { 200: resilienceSchema },
      },
    },
    async () => {
      // Before idle(): the engine's queue waits behind a load of the open alerts that keeps failing.
      await engine.loaded();
      await engine.idle();
      return resilienceReport(engine);
    },
  );
}
