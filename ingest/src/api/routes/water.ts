/** `GET /api/v1/water/dmas`: the water balance of every DMA (the console's water view, and analysts). */
import type { FastifyInstance } from 'fastify';
import { DMA_INLET_SITE, type DmaMeter } from '../../exports/dma-balance.js';
import type { ReadingsExporter } from '../../exports/readings-export.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, READ_ROLES } from '../roles.js';
import { parseRange } from '../time-range.js';

export async function waterRoutes(app: FastifyInstance, deps: ApiDeps, exporter: ReadingsExporter): Promise<void> {
  const now = deps.clock ?? Date.now;
  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/api/v1/water/dmas',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: `Water balance per DMA in [from, to) (default the last 24 h): customer meters and how many reported, litres used, inlet litres (meters with site "${DMA_INLET_SITE}"), non-revenue water, night flow (02:00–04:00 JST), meters reporting a leak`,
        tags: ['water'],
        querystring: { type: 'object', additionalProperties: false, properties: { from: { type: 'string' }, to: { type: 'string' } } },
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
