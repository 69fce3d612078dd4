/**
 * `GET /api/v1/exports/readings.csv` and `.parquet`: the readings of a DMA or a device id range over a
 * time range, for analysts. CSV streams as DuckDB produces it; Parquet is written by DuckDB to a temp
 * file, streamed, and the file removed once opened.
 *
 * Nothing that can fail runs after a response has started: the request is checked, the file name built,
 * an export slot taken and the audit entry written first. Every stream has an error listener, and the
 * export's DuckDB connection is released when it completes, fails, or its client goes away (the query is
 * interrupted then). Exports run a bounded number at a time, per token and in all (429 beyond).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DEVICE_ID_PATTERN, DEVICE_TYPES, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BusyError, IngestError } from '../../errors.js';
import type { ReadingsExporter, ReadingsExportRequest } from '../../storage/duckdb/readings-export.js';
import { ExportForbidden, selectExportDevices } from '../export-selection.js';
import type { ApiDeps } from '../deps.js';
import type { ExportSlots } from '../export-slots.js';
import { READ_ROLES } from '../roles.js';
import { queryText, ref, timeParam } from '../schemas.js';
import { parseRange } from '../time-range.js';

interface ExportQs {
  type?: DeviceType;
  dma?: string;
  deviceFrom?: string;
  deviceTo?: string;
  from?: number | string;
  to?: number | string;
}

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: [...DEVICE_TYPES], description: 'device type; implied (water-meter) by dma' },
    dma: queryText(64, "a district metered area: its water meters (the meters' dma attribute)"),
    deviceFrom: { type: 'string', pattern: DEVICE_ID_PATTERN.source, maxLength: 64, description: 'first device id of the range (inclusive, id order)' },
    deviceTo: { type: 'string', pattern: DEVICE_ID_PATTERN.source, maxLength: 64, description: 'last device id of the range (inclusive)' },
    from: timeParam('start (inclusive); default: 24 h before `to`'),
    to: timeParam('end (exclusive); default: now'),
  },
} as const;

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

function fileName(r: ReadingsExportRequest, q: ExportQs, ext: string): string {
  const what = q.dma ?? [q.deviceFrom, q.deviceTo].filter(Boolean).join('_to_');
  return `readings-${r.type}${what ? `-${what}` : ''}-${stamp(r.from)}-${stamp(r.to)}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** An export about to start: its request, file name and slot, all settled before any byte is sent. */
interface Prepared {
  req: ReadingsExportRequest;
  name: string;
  release: () => void;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
}

export async function exportRoutes(app: FastifyInstance, deps: ApiDeps, exporter: ReadingsExporter, slots: ExportSlots): Promise<void> {
  const now = deps.clock ?? Date.now;

  async function prepare(request: FastifyRequest<{ Querystring: ExportQs }>, reply: FastifyReply, format: 'csv' | 'parquet'): Promise<Prepared> {
    const { from, to } = parseRange(request.query, now());
    const role = request.principal?.role ?? 'admin';
    let selection;
    try {
      selection = selectExportDevices(deps.registry.listDevices(), request.query, role);
    } catch (err) {
      throw err;
    }
    const req = { ...selection, from, to };
    const name = fileName(req, request.query, format);
    const release = slots.acquire(request.principal?.tokenId ?? 'anonymous');
    try {
      await request.audit({ action: 'export.readings', target: req.type, detail: { format, devices: req.devices.length, from, to, dma: request.query.dma ?? null } });
    } catch (err) {
      release();
      throw err;
    }
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new IngestError('INGEST_ERR_STOPPING', 'the client went away'));
    });
    return { req, name, release, signal: gone.signal };
  }

  const schema = (format: string, mediaType: string) => ({
    summary: `Readings of a DMA (dma) or a device id range (type, deviceFrom, deviceTo) in [from, to) as ${format}, ordered by device and time. Welfare attributes only for roles that may see them.`,
    tags: ['exports'],
    querystring,
    response: {
      200: { description: `${format} file (a download: content-disposition attachment)`, content: { [mediaType]: { schema: { type: 'string', format: 'binary' } } } },
      403: { ...ref('Error'), description: "the device type is outside the caller's role" },
      404: { ...ref('Error'), description: 'no device matches' },
    },
  });

  app.get<{ Querystring: ExportQs }>(
    '/api/v1/exports/readings.csv',
    { config: { roles: READ_ROLES, limited: true }, schema: schema('CSV (RFC 4180, UTF-8)', 'text/csv') },
    async (request, reply) => {
      const { req, name, release } = await prepare(request, reply, 'csv');
      const body = new PassThrough();
      // A failure after the headers went out can only cut the response short; it must never go unheard.
      body.on('error', (err) => request.log.warn({ err, event: 'export_stream_error' }, 'readings export stream ended with an error'));
      void exporter
        .csv(req, body)
        .then(
          (rows) => {
            request.log.info({ event: 'export_done', format: 'csv', rows, devices: req.devices.length }, 'readings export sent');
            body.end();
          },
          (err: unknown) => {
            request.log.error({ err, event: 'export_failed' }, 'readings export failed');
            body.destroy(err as Error);
          },
        )
        .finally(release);
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(body);
    },
  );

  app.get<{ Querystring: ExportQs }>(
    '/api/v1/exports/readings.parquet',
    { config: { roles: READ_ROLES, limited: true }, schema: schema('Parquet (zstd; ts as UTC timestamp)', 'application/vnd.apache.parquet') },
    async (request, reply) => {
      const { req, name, release, signal } = await prepare(request, reply, 'parquet');
      const path = join(tmpdir(), `tsunagaru-export-${randomUUID()}.parquet`);
      try {
        await exporter.parquet(req, path, signal);
        const file = createReadStream(path);
        file.on('error', (err) => request.log.warn({ err, event: 'export_stream_error' }, 'readings export stream ended with an error'));
        file.once('close', release);
        // Once open, the name can go: the file lives until the stream closes it.
        await new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', reject));
        await rm(path, { force: true });
        return reply.header('content-type', 'application/vnd.apache.parquet').header('content-disposition', `attachment; filename="${name}"`).send(file);
      } catch (err) {
        release();
        await rm(path, { force: true });
        // Interrupted because the client left: nobody to answer, and nothing failed.
        if (signal.aborted) throw new BusyError('INGEST_ERR_BUSY', 'the export was stopped: the client went away', 5);
        throw err;
      }
    },
  );
}
