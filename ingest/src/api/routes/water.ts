/** `GET /api/v1/water/dmas`: the water balance of every DMA (the console's water view, and analysts). */
import type { FastifyInstance } from 'fastify';
import { DMA_INLET_SITE, type DmaMeter } from '../../storage/duckdb/dma-balance.js';
import type { ReadingsExporter } from '../../storage/duckdb/readings-export.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, READ_ROLES } from '../roles.js';
import { page, timeParam } from '../schemas.js';
import { parseRange } from '../time-range.js';

const litres = { type: ['number', 'null'] } as const;
const dmaBalance = {
  type: 'object',
  required: ['dma', 'meters', 'reporting', 'customerLitres', 'inletLitres', 'nonRevenueLitres', 'nonRevenuePct', 'nightFlowLph', 'leaks'],
  additionalProperties: false,
  properties: {
    dma: { type: 'string' },
    meters: { type: 'integer', description: 'customer meters provisioned in the DMA' },
    reporting: { type: 'integer', description: 'of them, how many reported in the range' },
    customerLitres: { type: 'number' },
    inletLitres: { ...litres, description: 'null without an inlet meter' },
    nonRevenueLitres: litres,
    nonRevenuePct: litres,
    nightFlowLph: litres,
    leaks: { type: 'integer' },
  },
} as const;

export async function waterRoutes(app: FastifyInstance, deps: ApiDeps, exporter: ReadingsExporter): Promise<void> {
  const now = deps.clock ?? Date.now;
  app.get<{ Querystring: { from?: number | string; to?: number | string } }>(
    '/api/v1/water/dmas',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: `Water balance per DMA in [from, to) (default the last 24 h): customer meters and how many reported, litres used, inlet litres (meters with site "${DMA_INLET_SITE}"), non-revenue water, night flow (02:00–04:00 JST), meters reporting a leak`,
        tags: ['water'],
        querystring: { type: 'object', additionalProperties: false, properties: { from: timeParam('start (inclusive); default: 24 h before `to`'), to: timeParam('end (exclusive); default: now') } },
        response: {
          200: page('dmas', dmaBalance, { from: { type: 'integer' }, to: { type: 'integer' } }),
        },
      },
    },
    async (request) => {
      const { from, to } = parseRange(request.query, now());
      const role = request.principal?.role ?? 'admin';
      const meters: DmaMeter[] = canSeeDeviceType(role, 'water-meter')
        ? deps.registry
            .listDevices()
            .filter((d) => d.type === 'water-meter' && typeof d.attributes.dma === 'string')
            .map((d) => ({ id: d.id, dma: String(d.attributes.dma), inlet: d.attributes.site === DMA_INLET_SITE }))
        : [];
      const dmas = await exporter.dmaBalance(meters, from, to);
      return { from, to, count: dmas.length, dmas };
    },
  );
}
