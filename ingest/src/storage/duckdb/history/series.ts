/**
 * Aggregated readings over time, for one device or a group (a device type, a DMA): what the API's
 * `interval`/`agg` forms answer. 15-minute buckets come from the raw rows (hot and archived); hours and
 * days from the rollups, whose cost does not grow with the history. Every answer is bounded in points.
 */
import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { toNumber, type ParamTypes, type Row, type SqlReader } from '../database.js';
import { readRaw, type ArchiveCatalog } from './archive.js';
import { col, rolledUpReadings, type RolledUpReading, type RolledUpType, type Stat } from './columns.js';
import { HOUR_MS, DAY_MS, localDayNumber, localDayStart, localDaySql, localDayStartSql } from './local-time.js';
import { bucketRowsFromRaw, pendingTable, type Only } from './rollup-sql.js';
import { dateSql, dayRows, hourRows } from './rollups.js';
import { interpolatedUsageSql, NEIGHBOURS, neighbourColumns } from './usage.js';

export const INTERVALS = { '15m': 15 * 60_000, '1h': HOUR_MS, '1d': DAY_MS } as const;
export type Interval = keyof typeof INTERVALS;
export const AGGS = ['count', 'mean', 'min', 'max', 'last', 'usage'] as const;
export type Agg = (typeof AGGS)[number];
/** Most buckets one request may ask for. */
export const MAX_SERIES_POINTS = 2000;

export class SeriesLimitError extends Error {}

export interface SeriesRange {
  from: number;
  to: number;
  interval: Interval;
}

/** The first bucket start at or before `t`: 15-minute and hour buckets on the clock, days at local midnight. */
export function alignDown(t: number, interval: Interval): number {
  if (interval === '1d') return localDayStart(localDayNumber(t));
  const step = INTERVALS[interval];
  return Math.floor(t / step) * step;
}

/** Bucket starts in [alignDown(from), to); throws SeriesLimitError past MAX_SERIES_POINTS. */
export function bucketsOf(r: SeriesRange): number[] {
  const step = INTERVALS[r.interval];
  const first = alignDown(r.from, r.interval);
  const count = Math.max(0, Math.ceil((r.to - first) / step));
  if (count > MAX_SERIES_POINTS) {
    const longer = r.interval === '15m' ? '1h or 1d' : '1d';
    throw new SeriesLimitError(`from–to holds ${count.toLocaleString('en-US')} buckets of ${r.interval}; at most ${MAX_SERIES_POINTS.toLocaleString('en-US')} points per request: ask for a shorter range${r.interval === '1d' ? '' : ` or a longer interval (${longer})`}`);
  }
  return Array.from({ length: count }, (_, i) => first + i * step);
}

/** Per reading, the requested aggregates (null where the bucket has no value). */
export type BucketValues = Record<string, Partial<Record<Agg, number | null>>>;
export interface DevicePoint {
  t: number;
  /** Samples in the bucket. */
  n: number;
  values: BucketValues;
}

export interface GroupPoint {
  t: number;
  /** Devices with at least one value of the reading in the bucket. */
  devices: number;
  values: Partial<Record<Agg, number | null>>;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Which aggregates a reading has: a register's mean means nothing, usage is for registers only. */
export function aggsFor(r: RolledUpReading, aggs: readonly Agg[]): Agg[] {
  return aggs.filter((a) => (r.counter ? a !== 'mean' : a !== 'usage'));
}

/**
 * Bucket rows of one device or a group: device_id, bucket (TIMESTAMP), n and the statistics, for the
 * buckets from `from` to `to` plus one either side (for usage's neighbours). `where` restricts device_id.
 */
function bucketRows(type: RolledUpType, catalog: ArchiveCatalog, where: string, r: SeriesRange, readings: readonly string[], plain: boolean): string {
  const only: Only = { readings, stats: SERIES_STATS };
  const step = INTERVALS[r.interval];
  const [from, to] = [alignDown(r.from, r.interval) - step, alignDown(r.to - 1, r.interval) + 2 * step];
  const [d0, d1] = [localDayNumber(from), localDayNumber(to - 1)];
  const days = `${where} AND day BETWEEN ${dateSql(d0)} AND ${dateSql(d1)}`;
  const within = (bucket: string) => `${bucket} >= epoch_ms(${from}::BIGINT) AND ${bucket} < epoch_ms(${to}::BIGINT)`;
  switch (r.interval) {
    case '15m':
      return bucketRowsFromRaw(type, catalog.rawSource(`samples/${type}`, from, to, where), ['time_bucket(INTERVAL 15 MINUTE, ts) AS bucket'], only);
    case '1h': {
      const bucket = `${localDayStartSql('day')} + to_hours(h)`;
      return `SELECT * EXCLUDE (day, h), ${bucket} AS bucket FROM (${hourRows(type, days, only, plain)}) x WHERE ${within(bucket)}`;
    }
    case '1d':
      return `SELECT * EXCLUDE (day), ${localDayStartSql('day')} AS bucket FROM (${dayRows(type, days, only, plain)}) x WHERE ${within(localDayStartSql('day'))}`;
  }
}

/**
 * A SQL string literal. One device's series inlines its id instead of binding it: DuckDB plans a statement
 * with parameters twice (without their values, then with them, to look the device up in the closed days'
 * index), and that second plan was 4–5 ms of a 16–24 ms answer (30 days of 130,000 meters, issue 15).
 */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The statistics a series reads (perDevice, withNeighbours): every one but a register's `drop`. */
const SERIES_STATS: readonly Stat[] = ['n', 'min', 'max', 'sum', 'first', 'first_ts', 'last', 'last_ts'];

const STEP_SQL: Record<Interval, string> = { '15m': 'INTERVAL 15 MINUTE', '1h': 'INTERVAL 1 HOUR', '1d': 'INTERVAL 1 DAY' };

/** The value of an aggregate per device and bucket, over bucket rows with neighbour columns. */
function perDevice(r: RolledUpReading, agg: Agg, interval: Interval): string {
  const c = (s: Parameters<typeof col>[1]) => col(r.name, s);
  switch (agg) {
    case 'count':
      return c('n');
    case 'mean':
      return `(${c('sum')} / nullif(${c('n')}, 0))::DOUBLE`;
    case 'min':
      return c('min');
    case 'max':
      return c('max');
    case 'last':
      return c('last');
    case 'usage':
      return interpolatedUsageSql({ start: 'epoch_ms(bucket)::DOUBLE', bucketMs: INTERVALS[interval], first: c('first'), firstTs: c('first_ts'), last: c('last'), lastTs: c('last_ts'), ...prefixed(r.name) });
  }
}

/** Neighbour columns are per counter reading: `<reading>_prev_last` etc. */
function prefixed(reading: string): typeof NEIGHBOURS {
  return Object.fromEntries(Object.entries(NEIGHBOURS).map(([k, v]) => [k, `"${reading}_${v}"`])) as unknown as typeof NEIGHBOURS;
}

function withNeighbours(rows: string, readings: readonly RolledUpReading[], interval: Interval): string {
  const counters = readings.filter((r) => r.counter);
  if (counters.length === 0) return rows;
  const cols = counters.map((r) =>
    neighbourColumns('bucket', STEP_SQL[interval], { first: col(r.name, 'first'), firstTs: col(r.name, 'first_ts'), last: col(r.name, 'last'), lastTs: col(r.name, 'last_ts') })
      .split(', ')
      .map((expr) => expr.replace(/ AS (\w+)$/, ` AS "${r.name}_$1"`))
      .join(', '),
  );
  return `SELECT b.*, ${cols.join(', ')} FROM (${rows}) b`;
}

export class HistoryReader {
  /** `plainLeft`: whether closed days of the layout before may be left (StoreHistory.plainRollupsLeft). */
  constructor(
    private readonly db: SqlReader,
    private readonly catalog: ArchiveCatalog,
    private readonly plainLeft: () => boolean = () => true,
  ) {}

  /**
   * Runs `read` with the parts list: 15-minute buckets read the raw rows, in one snapshot with the list
   * (archive.ts readRaw); hours and days read only the rollups, which no move of a day touches.
   */
  private read<T>(r: SeriesRange, read: (catalog: ArchiveCatalog, db: SqlReader) => Promise<T>): Promise<T> {
    return r.interval === '15m' ? readRaw(this.db, this.catalog, read) : read(this.catalog, this.db);
  }

  /** One device's buckets over [from, to): every bucket listed, empty ones with n = 0. */
  async deviceSeries(deviceId: string, type: RolledUpType, r: SeriesRange, aggs: readonly Agg[], only?: readonly string[]): Promise<DevicePoint[]> {
    const buckets = bucketsOf(r);
    const readings = rolledUpReadings(type).filter((x) => !only || only.includes(x.name));
    const select = readings.flatMap((x) => aggsFor(x, aggs).map((a) => `${perDevice(x, a, r.interval)} AS "${x.name}:${a}"`));
    const rows = await this.read(r, (catalog, db) =>
      db.all(
        `SELECT epoch_ms(bucket) AS t, n${select.length ? `, ${select.join(', ')}` : ''} FROM (${withNeighbours(bucketRows(type, catalog, `device_id = ${sqlString(deviceId)}`, r, readings.map((x) => x.name), this.plainLeft()), readings, r.interval)})
         WHERE bucket >= epoch_ms(${buckets[0] ?? r.from}::BIGINT) AND bucket < epoch_ms(${Math.trunc(r.to)}::BIGINT) ORDER BY bucket`,
      ),
    );
    const byT = new Map(rows.map((row) => [toNumber(row.t)!, row]));
    return buckets.map((t) => {
      const row = byT.get(t);
      const values: BucketValues = {};
      for (const x of readings) values[x.name] = Object.fromEntries(aggsFor(x, aggs).map((a) => [a, a === 'count' ? (num(row?.[`${x.name}:${a}`]) ?? 0) : num(row?.[`${x.name}:${a}`])]));
      return { t, n: num(row?.n) ?? 0, values };
    });
  }

  /**
   * A group's buckets (`devices`: the group's device ids) for one reading: count and mean over every
   * sample, min and max, and for registers the usage summed over the devices (each interpolated on its own).
   */
  async groupSeries(deviceIds: readonly string[], type: RolledUpType, reading: string, r: SeriesRange, aggs: readonly Agg[]): Promise<GroupPoint[]> {
    const buckets = bucketsOf(r);
    const x = rolledUpReadings(type).find((c) => c.name === reading);
    if (!x || deviceIds.length === 0) return buckets.map((t) => ({ t, devices: 0, values: {} }));
    const want = aggsFor(x, aggs);
    const c = (s: Parameters<typeof col>[1]) => col(x.name, s);
    const group: Record<Agg, string> = {
      count: `sum(${c('n')})`,
      mean: `(sum(${c('sum')}) / nullif(sum(${c('n')}), 0))::DOUBLE`,
      min: `min(${c('min')})`,
      max: `max(${c('max')})`,
      last: `NULL`,
      usage: `sum((${perDevice(x, 'usage', r.interval)})::DECIMAL(38,3))`,
    };
    const where = `device_id IN (SELECT unnest($1))`;
    const rows = await this.read(r, (catalog, db) =>
      db.all(
        `SELECT epoch_ms(bucket) AS t, count(*) FILTER (WHERE ${c('n')} > 0) AS devices, ${want.map((a) => `${group[a]} AS "${a}"`).join(', ')}
         FROM (${withNeighbours(bucketRows(type, catalog, where, r, [x.name], this.plainLeft()), [x], r.interval)})
         WHERE bucket >= epoch_ms(${buckets[0] ?? r.from}::BIGINT) AND bucket < epoch_ms(${Math.trunc(r.to)}::BIGINT) GROUP BY bucket ORDER BY bucket`,
        [listValue([...deviceIds])],
        [LIST(VARCHAR)] as unknown as ParamTypes,
      ),
    );
    const byT = new Map(rows.map((row) => [toNumber(row.t)!, row]));
    return buckets.map((t) => {
      const row = byT.get(t);
      return { t, devices: num(row?.devices) ?? 0, values: Object.fromEntries(want.filter((a) => a !== 'last').map((a) => [a, a === 'count' ? (num(row?.[a]) ?? 0) : num(row?.[a])])) };
    });
  }
}
