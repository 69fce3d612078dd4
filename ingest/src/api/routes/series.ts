/**
 * Aggregated readings (issue 15): one device's readings per 15 min, hour or day
 * (`GET /api/v1/devices/:id/readings?interval=…&agg=…`, answered here for devices.ts), and a group's
 * (`GET /api/v1/series?type=…|dma=…&reading=…`). Hours and days are read from the rollups, so their cost
 * does not grow with the history; every answer is bounded in points (MAX_SERIES_POINTS).
 */
import { DEVICE_TYPES, MIN_TS_MS, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeviceRecord } from '@tsunagaru/broker';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULT_ALERT_RULES } from '../../alerts/rules-config.js';
import { IngestError } from '../../errors.js';
import { isRolledUpType, rolledUpReadings, type RolledUpType } from '../../storage/duckdb/history/columns.js';
import { AGGS, INTERVALS, MAX_SERIES_POINTS, SeriesLimitError, alignDown, type Agg, type HistoryReader, type Interval, type SeriesRange } from '../../storage/duckdb/history/series.js';
import { DMA_INLET_SITE, dmaBalances } from '../../water/balance.js';
import { balanceSettings } from '../../water/settings.js';
import type { ApiDeps } from '../deps.js';
import { canSeeDeviceType, READ_ROLES } from '../roles.js';
import { balanceSchema } from './water-schemas.js';
import { queryText, timeParam } from '../schemas.js';
import { parseRange, withinReadings } from '../time-range.js';

const DEFAULT_AGGS: readonly Agg[] = ['mean', 'min', 'max', 'last'];

export const intervalParam = { type: 'string', enum: Object.keys(INTERVALS), description: 'bucket: 15m (from raw readings), 1h or 1d (from the rollups; days are Japan days, 00:00–24:00 UTC+9)' } as const;
export const aggParam = {
  type: 'string',
  pattern: `^(${AGGS.join('|')})(,(${AGGS.join('|')}))*$`,
  maxLength: 64,
  description: `comma-separated, of ${AGGS.join(', ')} (default mean,min,max,last). mean is per sample; registers (indexL) have usage (litres, interpolated at the bucket's ends) instead of mean`,
} as const;
const readingParam = { ...queryText(256, 'comma-separated reading names (default: every numeric reading)'), pattern: '^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$' } as const;

const nullableNumber = { type: ['number', 'null'] } as const;
const aggValues = { type: 'object', additionalProperties: false, properties: Object.fromEntries(AGGS.map((a) => [a, nullableNumber])) } as const;

/** The aggregated form of the device readings response (devices.ts serves both forms). */
export const deviceSeriesResponse = {
  type: 'object',
  required: ['deviceId', 'type', 'from', 'to', 'interval', 'agg', 'count', 'points'],
  additionalProperties: false,
  properties: {
    deviceId: { type: 'string' },
    type: { type: 'string', enum: [...DEVICE_TYPES] },
    from: { type: 'integer', description: 'start of the first bucket (from, aligned down)' },
    to: { type: 'integer' },
    interval: { type: 'string' },
    agg: { type: 'array', items: { type: 'string' } },
    count: { type: 'integer', description: `points (at most ${MAX_SERIES_POINTS})` },
    points: {
      type: 'array',
      items: {
        type: 'object',
        required: ['t', 'n', 'values'],
        additionalProperties: false,
        properties: {
          t: { type: 'integer', description: 'bucket start, epoch ms' },
          n: { type: 'integer', description: 'samples in the bucket' },
          values: { type: 'object', description: 'per reading, the requested aggregates (null: no value in the bucket)', additionalProperties: aggValues },
        },
      },
    },
  },
} as const;

export interface SeriesQs {
  from?: number | string;
  to?: number | string;
  interval?: Interval;
  agg?: string;
  reading?: string;
}

export const parseAggs = (text: string | undefined): Agg[] => (text ? [...new Set(text.split(','))] as Agg[] : [...DEFAULT_AGGS]);

function rangeOf(q: SeriesQs, now: number, interval: Interval): SeriesRange {
  const { from, to } = parseRange(q, now);
  withinReadings('to', to);
  if (q.from !== undefined) withinReadings('from', from);
  return { from: alignDown(Math.max(from, MIN_TS_MS), interval), to, interval };
}

function requireHistory(deps: ApiDeps): HistoryReader {
  if (!deps.history) throw new IngestError('INGEST_ERR_NOT_FOUND', 'aggregated readings are served by the embedded store only');
  return deps.history;
}

async function bounded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof SeriesLimitError) throw new IngestError('INGEST_ERR_BAD_REQUEST', `interval: ${err.message}`);
    throw err;
  }
}

function readingsOf(type: RolledUpType, text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const known = rolledUpReadings(type).map((r) => r.name);
  const names = text.split(',');
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new IngestError('INGEST_ERR_BAD_REQUEST', `reading: ${unknown.join(', ')} is not a numeric reading of a ${type}; use ${known.join(', ')}`);
  return names;
}

function rolledUp(type: DeviceType): RolledUpType {
  if (!isRolledUpType(type)) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'interval: ring nodes report segment states, not numeric readings; ask for their readings without interval');
  return type;
}

/** The aggregated form of `GET /api/v1/devices/:id/readings` (devices.ts calls it when `interval` is given). */
export async function deviceSeries(deps: ApiDeps, device: DeviceRecord, q: SeriesQs, now: number) {
  const history = requireHistory(deps);
  const type = rolledUp(device.type);
  const interval = q.interval!;
  const range = rangeOf(q, now, interval);
  const aggs = parseAggs(q.agg);
  const points = await bounded(() => history.deviceSeries(device.id, type, range, aggs, readingsOf(type, q.reading)));
  return { deviceId: device.id, type: device.type, from: range.from, to: range.to, interval, agg: aggs, count: points.length, points };
}

const groupPoint = {
  type: 'object',
  required: ['t', 'devices', 'values'],
  additionalProperties: false,
  properties: {
    t: { type: 'integer', description: 'bucket start, epoch ms' },
    devices: { type: 'integer', description: 'devices with a value of the reading in the bucket (a DMA\'s daily usage alone: its meters read or estimated that day, from the balance)' },
    values: aggValues,
    inlet: {
      type: 'object',
      description: "a DMA's inlet (bulk) meters, apart from its customer meters",
      required: ['devices', 'values'],
      additionalProperties: false,
      properties: { devices: { type: 'integer' }, values: aggValues },
    },
    balance: { ...balanceSchema, description: "DMA daily usage only: the day's water balance with its coverage, as /api/v1/water/dmas/{dma}/daily gives it (the night flow is there too)" },
  },
} as const;

interface GroupQs extends SeriesQs {
  type?: DeviceType;
  dma?: string;
}

export async function seriesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = deps.clock ?? Date.now;
  app.get<{ Querystring: GroupQs }>(
    '/api/v1/series',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: `One reading of a group over time: every device of a type, or the customer meters of a DMA (its inlet meters, site "${DMA_INLET_SITE}", apart). Per bucket: count, mean (over every sample), min, max, usage (registers: the devices' interpolated volumes summed). A DMA's daily usage (reading=indexL&interval=1d&agg=usage) is its water balance per Japan day (registers interpolated at midnight, silent meters estimated, with coverage), the figures of /api/v1/water/dmas/{dma}/daily. At most ${MAX_SERIES_POINTS} points.`,
        tags: ['devices'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['reading', 'interval'],
          properties: {
            type: { type: 'string', enum: DEVICE_TYPES.filter((t) => t !== 'ring-node') },
            dma: queryText(64, 'a district metered area (water meters with this `dma` attribute)'),
            reading: { ...queryText(64, 'the numeric reading, e.g. flowLph or indexL'), pattern: '^[A-Za-z0-9]+$' },
            from: timeParam('start (inclusive), aligned down to the interval; default: 24 h before `to`'),
            to: timeParam('end (exclusive); default: now'),
            interval: intervalParam,
            agg: aggParam,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['reading', 'from', 'to', 'interval', 'agg', 'devices', 'count', 'points'],
            additionalProperties: false,
            properties: {
              type: { type: 'string' },
              dma: { type: 'string' },
              reading: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              interval: { type: 'string' },
              agg: { type: 'array', items: { type: 'string' } },
              devices: { type: 'integer', description: 'devices in the group (provisioned)' },
              count: { type: 'integer' },
              points: { type: 'array', items: groupPoint },
            },
          },
        },
      },
    },
    async (request) => {
      const history = requireHistory(deps);
      const q = request.query;
      if ((q.type === undefined) === (q.dma === undefined)) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'type, dma: give one of them (a device type, or a DMA id), not both');
      const type: RolledUpType = q.dma !== undefined ? 'water-meter' : rolledUp(q.type!);
      readingsOf(type, q.reading);
      const reading = q.reading!;
      const members = groupMembers(deps, request, type, q.dma);
      const interval = q.interval!;
      const range = rangeOf(q, now(), interval);
      const aggs = parseAggs(q.agg);
      const customers = members.filter((d) => d.attributes.site !== DMA_INLET_SITE || q.dma === undefined).map((d) => d.id);
      const inlets = q.dma === undefined ? [] : members.filter((d) => d.attributes.site === DMA_INLET_SITE).map((d) => d.id);
      const head = { ...(q.type ? { type: q.type } : {}), ...(q.dma !== undefined ? { dma: q.dma } : {}), reading, from: range.from, to: range.to, interval, agg: aggs, devices: customers.length };
      const counter = rolledUpReadings(type).find((r) => r.name === reading)?.counter === true;
      const dmaDaily = q.dma !== undefined && interval === '1d' && counter && aggs.includes('usage');
      // A DMA's daily usage is its water balance: one implementation (ingest/src/water/balance.ts), the
      // product's definition, not a second sum of the meters' rollups that would disagree with it for a
      // silent meter or a register rollover.
      const fromRollups = dmaDaily ? aggs.filter((a) => a !== 'usage') : aggs;
      // Usage alone: the days and their meters come from the balance (kept per DMA and day), not from a
      // scan of every meter's day rollups, which grew with the range (a month of 2,000 meters: 0.2 s).
      const balanceOnly = dmaDaily && fromRollups.length === 0;
      const points = await bounded(() => history.groupSeries(balanceOnly ? [] : customers, type, reading, range, fromRollups));
      if (inlets.length > 0) {
        const inlet = await history.groupSeries(balanceOnly ? [] : inlets, type, reading, range, fromRollups);
        points.forEach((p, i) => Object.assign(p, { inlet: { devices: inlet[i]!.devices, values: inlet[i]!.values } }));
      }
      if (dmaDaily && points.length > 0) {
        if (!deps.water) throw new IngestError('INGEST_ERR_NOT_FOUND', 'a DMA\'s daily usage is its water balance, served by the embedded store only');
        const meters = members.map((d) => ({ id: d.id, dma: q.dma!, inlet: d.attributes.site === DMA_INLET_SITE }));
        const bounds = [...points.map((p) => p.t), points.at(-1)!.t + INTERVALS['1d']];
        const days = (await dmaBalances(deps.water, meters, bounds, balanceSettings((deps.alerts?.config ?? DEFAULT_ALERT_RULES).water))).get(q.dma!) ?? [];
        points.forEach((p, i) => {
          const b = days[i]!;
          // No customer meter with a volume that day (none read, none estimable): no value, not zero use.
          p.values.usage = b.covered + b.estimated > 0 ? b.customerLitres : null;
          const inlet = (p as { inlet?: { devices: number; values: Record<string, number | null> } }).inlet;
          if (inlet) inlet.values.usage = b.inletLitres;
          // The meters the usage stands on: read or estimated that day.
          if (balanceOnly) {
            p.devices = b.covered + b.estimated;
            if (inlet) inlet.devices = b.inletLitres === null ? 0 : b.inletMeters;
          }
          Object.assign(p, { balance: b });
        });
        // Keep the order asked for (usage was computed apart).
        points.forEach((p) => (p.values = Object.fromEntries(aggs.map((a) => [a, p.values[a] ?? null]))));
      }
      return { ...head, count: points.length, points };
    },
  );
}

/** The devices of a group the caller may see (a role that does not work with the type sees none). */
function groupMembers(deps: ApiDeps, request: FastifyRequest, type: RolledUpType, dma: string | undefined): DeviceRecord[] {
  const role = request.principal?.role;
  if (role && !canSeeDeviceType(role, type)) throw new IngestError('INGEST_ERR_NOT_FOUND', `no ${type} data for this role`);
  return deps.registry.listDevices().filter((d) => d.type === type && (dma === undefined || d.attributes.dma === dma));
}

