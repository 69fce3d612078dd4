/**
 * `GET /api/v1/exports/readings.csv` and `.parquet`: the readings of a DMA or a device id range over a
 * time range, for analysts. CSV streams as DuckDB produces it; Parquet is written by DuckDB to a temp
 * file, streamed, and the file removed once opened.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DEVICE_ID_PATTERN, DEVICE_TYPES, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ReadingsExporter, ReadingsExportRequest } from '../../exports/readings-export.js';
import { ExportForbidden, selectExportDevices } from '../../exports/selection.js';
import type { ApiDeps } from '../deps.js';
import { READ_ROLES } from '../roles.js';
import { errorSchema } from '../schemas.js';
import { parseRange } from '../time-range.js';

interface ExportQs {
  type?: DeviceType;
  dma?: string;
  deviceFrom?: string;
  deviceTo?: string;
  from?: string;
  to?: string;
}

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: [...DEVICE_TYPES], description: 'device type; implied (water-meter) by dma' },
    dma: { type: 'string', minLength: 1, maxLength: 64, description: "a district metered area: its water meters (the meters' dma attribute)" },
    deviceFrom: { type: 'string', pattern: DEVICE_ID_PATTERN.source, description: 'first device id of the range (inclusive, id order)' },
    deviceTo: { type: 'string', pattern: DEVICE_ID_PATTERN.source, description: 'last device id of the range (inclusive)' },
    from: { type: 'string', description: 'epoch ms or ISO 8601; default: 24 h before `to`' },
    to: { type: 'string', description: 'epoch ms or ISO 8601 (exclusive); default: now' },
  },
} as const;

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

function fileName(r: ReadingsExportRequest, q: ExportQs, ext: string): string {
  const what = q.dma ?? [q.deviceFrom, q.deviceTo].filter(Boolean).join('_to_');
  return `readings-${r.type}${what ? `-${what}` : ''}-${stamp(r.from)}-${stamp(r.to)}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export async function exportRoutes(app: FastifyInstance, deps: ApiDeps, exporter: ReadingsExporter): Promise<void> {
  const now = deps.clock ?? Date.now;

  /** The request's export, or undefined after answering 403 (a role outside the device type's scope). */
  function prepare(request: FastifyRequest<{ Querystring: ExportQs }>, reply: FastifyReply): ReadingsExportRequest | undefined {
    const { from, to } = parseRange(request.query, now());
    const role = request.principal?.role ?? 'admin';
    try {
      const selection = selectExportDevices(deps.registry.listDevices(), request.query, role);
      return { ...selection, from, to };
    } catch (err) {
      if (!(err instanceof ExportForbidden)) throw err;
      void reply.code(403).send({ statusCode: 403, code: 'INGEST_ERR_FORBIDDEN', error: 'Forbidden', message: err.message });
      return undefined;
    }
  }

  const schema = (format: string) => ({
    summary: `Readings of a DMA (dma) or a device id range (type, deviceFrom, deviceTo) in [from, to) as ${format}, ordered by device and time. Welfare attributes only for roles that may see them.`,
    tags: ['exports'],
    querystring,
    response: { 400: errorSchema, 403: errorSchema, 404: errorSchema },
  });

  app.get<{ Querystring: ExportQs }>('/api/v1/exports/readings.csv', { config: { roles: READ_ROLES }, schema: schema('CSV (RFC 4180, UTF-8)') }, async (request, reply) => {
    const req = prepare(request, reply);
    if (!req) return reply;
    await request.audit({ action: 'export.readings', target: req.type, detail: { format: 'csv', devices: req.devices.length, from: req.from, to: req.to, dma: request.query.dma ?? null } });
    const body = new PassThrough();
    exporter.csv(req, body).then(
      (rows) => {
        request.log.info({ event: 'export_done', format: 'csv', rows, devices: req.devices.length }, 'readings export sent');
        body.end();
      },
      (err: unknown) => {
        request.log.error({ err, event: 'export_failed' }, 'readings export failed');
        body.destroy(err as Error);
      },
    );
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${fileName(req, request.query, 'csv')}"`).send(body);
  });

  app.get<{ Querystring: ExportQs }>('/api/v1/exports/readings.parquet', { config: { roles: READ_ROLES }, schema: schema('Parquet (zstd; ts as UTC timestamp)') }, async (request, reply) => {
    const req = prepare(request, reply);
    if (!req) return reply;
    await request.audit({ action: 'export.readings', target: req.type, detail: { format: 'parquet', devices: req.devices.length, from: req.from, to: req.to, dma: request.query.dma ?? null } });
    const path = join(tmpdir(), `tsunagaru-export-${randomUUID()}.parquet`);
    try {
      await exporter.parquet(req, path);
      const file = createReadStream(path);
      // Once open, the name can go: the file lives until the stream closes it.
      await new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', reject));
      await rm(path, { force: true });
      return reply.header('content-type', 'application/vnd.apache.parquet').header('content-disposition', `attachment; filename="${fileName(req, request.query, 'parquet')}"`).send(file);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
  });
}
