/**
 * The water bureau's figures (ingest/src/water): DMA balances over a range and per local day with the
 * night flow, a household's use per day or month, monthly register reads for billing (JSON and CSV).
 */
import type { FastifyInstance } from 'fastify';
import { DEFAULT_ALERT_RULES } from '../../alerts/rules-config.js';
import { IngestError } from '../../errors.js';
import { csvLine } from '../../storage/duckdb/readings-export.js';
import type { WaterReader } from '../../water/registers.js';
import { DMA_INLET_SITE, dmaMeters, type WaterMeterRef } from '../../water/balance.js';
import { daysBetween, localDate, monthStart } from '../../water/local-days.js';
import { balanceSettings, nightSettings } from '../../water/settings.js';
import { dmaBalances, dmaNights, meterUsage, monthlyReads } from '../../water/index.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, READ_ROLES, roleOf } from '../roles.js';
import { deviceIdParam, ref, timeParam } from '../schemas.js';
import { MIN_TS_MS } from '@tsunagaru/firmware-contracts';
import { parseRange, parseTime, withinReadings } from '../time-range.js';
import { balanceSchema, nightSchema, readSchema, usageSchema } from './water-schemas.js';

const DAY = 86_400_000;

const MONTH = /^20\d{2}-(0[1-9]|1[0-2])$/; // the years readings can carry (2000–2099), as withinReadings
const range = (what: string) => ({
  type: 'object', additionalProperties: false,
  properties: { from: timeParam(`start (inclusive); default: ${what} before \`to\``), to: timeParam('end (exclusive); default: now') },
}) as const;

export async function waterRoutes(app: FastifyInstance, deps: ApiDeps, db: WaterReader): Promise<void> {
  const now = deps.clock ?? Date.now;
  const water = () => (deps.alerts?.config ?? DEFAULT_ALERT_RULES).water;
  const clock = () => nightSettings(water());
  /** Water meters with a DMA the caller may see (none for a role without water meters). */
  const meters = (request: Parameters<typeof roleOf>[0], dma?: string): WaterMeterRef[] =>
    canSeeDeviceType(roleOf(request), 'water-meter')
      ? dmaMeters(deps.registry.listDevices(), dma)
      : [];

  app.get<{ Querystring: { from?: number | string; to?: number | string } }>(
    '/api/v1/water/dmas',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: `Water balance per DMA in [from, to) (default the last 24 h): inlet volume (meters with site "${DMA_INLET_SITE}") − customer volumes, each from registers interpolated at the ends, with coverage (meters with readings around both ends, estimated, missing) and whether the figure is complete`,
        tags: ['water'],
        querystring: range('24 h'),
        response: { 200: { type: 'object', required: ['from', 'to', 'count', 'dmas'], properties: { from: { type: 'integer' }, to: { type: 'integer' }, count: { type: 'integer' }, dmas: { type: 'array', items: balanceSchema } } } },
      },
    },
    async (request) => {
      const { from, to } = parseRange(request.query, now());
      withinReadings('to', to);
      if (request.query.from !== undefined) withinReadings('from', from);
      const balances = await dmaBalances(db, meters(request), [from, to], balanceSettings(water()));
      const dmas = [...balances.values()].map((b) => b[0]!);
      return { from, to, count: dmas.length, dmas };
    },
  );

  app.get<{ Params: { dma: string }; Querystring: { from?: number | string; to?: number | string } }>(
    '/api/v1/water/dmas/:dma/daily',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'A DMA per local day (Asia/Tokyo by default) in [from, to) (default the last 30 days, at most 400): its balance and coverage, and that night\'s minimum night flow at the inlet (less legitimate night use), per connection and as a share of the average daily flow',
        tags: ['water'],
        params: { type: 'object', required: ['dma'], additionalProperties: false, properties: { dma: { type: 'string', minLength: 1, maxLength: 64 } } },
        querystring: range('30 days'),
        response: {
          200: {
            type: 'object', required: ['dma', 'from', 'to', 'count', 'days'],
            properties: { dma: { type: 'string' }, from: { type: 'integer' }, to: { type: 'integer' }, count: { type: 'integer' }, days: { type: 'array', items: { type: 'object', required: ['date', 'balance', 'night'], properties: { date: { type: 'string' }, balance: balanceSchema, night: nightSchema } } } },
          },
          404: { ...ref('Error'), description: 'no water meters in that DMA' },
        },
      },
    },
    async (request) => {
      const to = withinReadings('to', parseTime('to', request.query.to) ?? now());
      const from = withinReadings('from', parseTime('from', request.query.from) ?? Math.max(to - 30 * DAY, MIN_TS_MS));
      if (from > to) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'from: must not be after to');
      if (to - from > 400 * DAY) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'to: at most 400 days from `from` (ask for a shorter range)');
      const ms = meters(request, request.params.dma);
      if (ms.length === 0) throw new IngestError('INGEST_ERR_NOT_FOUND', `no water meters in DMA "${request.params.dma.slice(0, 64)}"`);
      const c = clock();
      const days = daysBetween(from, to, c);
      if (days.length === 0) return { dma: request.params.dma, from, to, count: 0, days: [] };
      const bounds = [...days, days.at(-1)! + DAY];
      const [balances, nights] = await Promise.all([dmaBalances(db, ms, bounds, balanceSettings(water())), dmaNights(db, ms, days.map((d) => localDate(d, c)), c, balanceSettings(water()))]);
      const b = balances.get(request.params.dma)!;
      const n = nights.get(request.params.dma)!;
      return { dma: request.params.dma, from: bounds[0]!, to: bounds.at(-1)!, count: days.length, days: days.map((d, i) => ({ date: localDate(d, c), balance: b[i]!, night: n[i]! })) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { interval?: 'day' | 'month'; from?: number | string; to?: number | string } }>(
    '/api/v1/water/meters/:id/usage',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: "A household's water use per local day or month in [from, to) (default the last 31 days or 12 months), each from its register interpolated at the bucket's ends; months also carry the month before and the same month last year",
        tags: ['water'],
        params: deviceIdParam,
        querystring: { type: 'object', additionalProperties: false, properties: { interval: { type: 'string', enum: ['day', 'month'], default: 'day' }, from: timeParam('start (inclusive)'), to: timeParam('end (exclusive); default: now') } },
        response: {
          200: { type: 'object', required: ['deviceId', 'interval', 'count', 'buckets'], properties: { deviceId: { type: 'string' }, interval: { type: 'string' }, count: { type: 'integer' }, buckets: { type: 'array', items: usageSchema } } },
          404: { ...ref('Error'), description: 'no water meter with that id (or not one the caller works with)' },
        },
      },
    },
    async (request) => {
      const device = deps.registry.getDevice(request.params.id);
      if (!device || device.type !== 'water-meter' || !canSeeDeviceType(roleOf(request), 'water-meter')) throw new IngestError('INGEST_ERR_NOT_FOUND', `no water meter "${request.params.id}"`);
      const interval = request.query.interval ?? 'day';
      const c = clock();
      const to = withinReadings('to', parseTime('to', request.query.to) ?? now());
      const from = withinReadings('from', parseTime('from', request.query.from) ?? Math.max(interval === 'day' ? to - 31 * DAY : monthStart(localDate(to, c).slice(0, 7), c, -11), MIN_TS_MS));
      if (from > to) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'from: must not be after to');
      if (to - from > (interval === 'day' ? 400 : 3700) * DAY) throw new IngestError('INGEST_ERR_BAD_REQUEST', `to: at most ${interval === 'day' ? '400 days' : '10 years'} from \`from\``);
      const buckets = await meterUsage(db, device.id, interval, from, to, c, balanceSettings(water()));
      return { deviceId: device.id, interval, count: buckets.length, buckets };
    },
  );

  type ReadsQs = { month: string; dma?: string };
  const readsQuery = { type: 'object', required: ['month'], additionalProperties: false, properties: { month: { type: 'string', pattern: MONTH.source, description: 'YYYY-MM (local calendar)' }, dma: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
  const reads = async (request: Parameters<typeof roleOf>[0] & { query: ReadsQs }) => {
    const ms = meters(request, request.query.dma);
    if (request.query.dma && ms.length === 0) throw new IngestError('INGEST_ERR_NOT_FOUND', `no water meters in DMA "${request.query.dma.slice(0, 64)}"`);
    return monthlyReads(db, ms, request.query.month, clock(), balanceSettings(water()));
  };
  app.get<{ Querystring: ReadsQs }>(
    '/api/v1/water/reads',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: "Monthly register reads for billing: each meter's register at the start of the month and of the next (local midnight on the 1st, interpolated between the readings around it), and the month's consumption; estimated reads say so",
        tags: ['water'],
        querystring: readsQuery,
        response: {
          200: { type: 'object', required: ['month', 'count', 'reads'], properties: { month: { type: 'string' }, dma: { type: ['string', 'null'] }, count: { type: 'integer' }, reads: { type: 'array', items: readSchema } } },
          404: { ...ref('Error'), description: 'no water meters in that DMA' },
        },
      },
    },
    async (request) => {
      const out = await reads(request);
      return { month: request.query.month, dma: request.query.dma ?? null, count: out.length, reads: out };
    },
  );
  app.get<{ Querystring: ReadsQs }>(
    '/api/v1/water/reads.csv',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'The monthly register reads as CSV (RFC 4180, UTF-8), one line per meter',
        tags: ['water'],
        querystring: readsQuery,
        response: {
          200: { description: 'CSV file (a download: content-disposition attachment)', content: { 'text/csv': { schema: { type: 'string', format: 'binary' } } } },
          404: { ...ref('Error'), description: 'no water meters in that DMA' },
        },
      },
    },
    async (request, reply) => {
      const out = await reads(request);
      const cols = ['deviceId', 'dma', 'inlet', 'month', 'startIndexL', 'endIndexL', 'consumptionL', 'estimated', 'startHow', 'endHow', 'rollovers', 'resets'] as const;
      const body = csvLine(cols) + out.map((r) => csvLine(cols.map((c) => r[c]))).join('');
      const name = `register-reads-${request.query.month}${request.query.dma ? `-${request.query.dma.replace(/[^A-Za-z0-9_-]/g, '_')}` : ''}.csv`;
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(body);
    },
  );
}
