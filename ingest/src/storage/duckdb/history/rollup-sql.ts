/**
 * The SQL of the per-device rollups, generated from the readings of each type (columns.ts).
 *
 * For every numeric reading a bucket keeps count, min, max, an exact sum (mean = sum / count) and the last
 * value with its time; counters keep their first and last value with times instead of min/max/sum.
 * Every statistic merges exactly: counts add, min/max compare, sums are decimals (addition is exact), and
 * last/first compare (time, value), so even two samples stamped the same instant give one answer whatever
 * the order they arrived in. Partial rows of the same bucket can therefore be merged at any time, in any
 * order, by one aggregate (`mergeAggs`), and give exactly what one pass over the raw rows gives.
 *
 * Three shapes hold them (rollups.ts): scalar hour rows and scalar day rows for days still open, and for
 * closed days one row per device and day with the 24 hours as lists, found through a device index.
 */
import { quoteIdent } from '../sample-columns.js';
import { col, rolledUpReadings, statsOf, statSql, tableSuffix, UNKNOWN_DROP_SQL, type RolledUpReading, type RolledUpType, type Stat } from './columns.js';
import { localDaySql, localHourSql } from './local-time.js';

/**
 * Water meters' day rows carry the DMA they belonged to when the data was folded in (registry attribute
 * `dma`, and whether the meter was its inlet): the membership of that day, should a meter move. No query
 * reads it since the DMA balance became the water module's alone (ingest/src/water/balance.ts).
 */
export const carriesDma = (type: RolledUpType): boolean => type === 'water-meter';

export const pendingTable = (type: RolledUpType): string => `rollup_pending_${tableSuffix(type)}`;
export const hourOpenTable = (type: RolledUpType): string => `rollup_hour_open_${tableSuffix(type)}`;
export const dayOpenTable = (type: RolledUpType): string => `rollup_day_open_${tableSuffix(type)}`;
export const dayTable = (type: RolledUpType): string => `rollup_day_${tableSuffix(type)}`;
/** Closed days stored before the compact layout, converted in the background (migrate.ts); empty once done. */
export const plainDayTable = (type: RolledUpType): string => `rollup_day_plain_${tableSuffix(type)}`;

export interface Column {
  name: string;
  sql: string;
}

export const statColumns = (type: RolledUpType, name: (r: string, s: Stat) => string, suffix = ''): Column[] =>
  rolledUpReadings(type).flatMap((r) => statsOf(r).map((s) => ({ name: name(r.name, s), sql: `${statSql(r, s)}${suffix}` })));

const dmaColumns = (type: RolledUpType): Column[] => (carriesDma(type) ? [{ name: 'dma', sql: 'VARCHAR' }, { name: 'inlet', sql: 'BOOLEAN' }] : []);

/** Scalar hour rows (open days): device, local day, local hour, then the statistics. */
export const hourColumns = (type: RolledUpType): Column[] => [
  { name: 'device_id', sql: 'VARCHAR NOT NULL' },
  { name: 'day', sql: 'DATE NOT NULL' },
  { name: 'h', sql: 'TINYINT NOT NULL' },
  { name: 'n', sql: 'INTEGER NOT NULL' },
  ...statColumns(type, col),
];

/** Scalar day rows (open days). */
export const dayOpenColumns = (type: RolledUpType): Column[] => [
  { name: 'device_id', sql: 'VARCHAR NOT NULL' },
  { name: 'day', sql: 'DATE NOT NULL' },
  ...dmaColumns(type),
  { name: 'n', sql: 'INTEGER NOT NULL' },
  ...statColumns(type, col),
];


export const names = (cols: readonly Column[]): string => cols.map((c) => c.name).join(', ');
/**
 * Readings a reader asks for (`only`; all of them when undefined): a query about registers need not merge
 * a city's flows and batteries too. The object form also names the statistics wanted (`n` and the others
 * a reading has among them): a register's `drop` is merged across partial rows by a window over each
 * device and bucket, the largest part of a day row's cost, which series answers (usage is `last − first`
 * interpolated) never read.
 */
export type Only = readonly string[] | { readonly readings?: readonly string[]; readonly stats: readonly Stat[] } | undefined;
const onlyReadings = (only: Only): readonly string[] | undefined => (only && 'stats' in only ? only.readings : only);
export const readingsOf = (type: RolledUpType, only: Only) => {
  const wanted = onlyReadings(only);
  return rolledUpReadings(type).filter((r) => !wanted || wanted.includes(r.name));
};
/** The statistics of `r` a reader asks for (`only`); `n` always. */
export const statsFor = (r: RolledUpReading, only: Only): Stat[] => (only && 'stats' in only ? statsOf(r).filter((s) => s === 'n' || only.stats.includes(s)) : statsOf(r));
export const statNames = (type: RolledUpType, name: (r: string, s: Stat) => string = col, only?: Only) => readingsOf(type, only).flatMap((r) => statsFor(r, only).map((s) => name(r.name, s)));

/** One statistic over raw rows (`ts` and the reading column in scope). */
function rawAgg(r: RolledUpReading, stat: Stat): string {
  const v = quoteIdent(r.name);
  const present = `FILTER (WHERE ${v} IS NOT NULL)`;
  switch (stat) {
    case 'n':
      return `count(${v})::INTEGER`;
    case 'min':
      return `min(${v})`;
    case 'max':
      return `max(${v})`;
    case 'sum':
      return `sum(${v}::${statSql(r, 'sum')})`;
    case 'last':
      return `arg_max(${v}, row(ts, ${v})) ${present}`;
    case 'last_ts':
      return `max(ts) ${present}`;
    case 'first':
      return `arg_min(${v}, row(ts, ${v})) ${present}`;
    case 'first_ts':
      return `min(ts) ${present}`;
    case 'drop': {
      // Consecutive readings (prevReadingColumns); two of one instant with different values have no order.
      const [p, pTs] = [prevReading(r.name), prevReadingTs(r.name)];
      return `CASE WHEN count(${v}) = 0 THEN NULL ELSE greatest(0::DOUBLE, max(CASE WHEN ${pTs} = ts AND ${p} <> ${v} THEN ${UNKNOWN_DROP_SQL} ELSE (${p} - ${v})::DOUBLE END)) END`;
    }
  }
}

/** Helper columns: a counter's previous reading in its bucket (raw rows) and the previous partial's last. */
const prevReading = (reading: string) => quoteIdent(`${reading}__prev`);
const prevReadingTs = (reading: string) => quoteIdent(`${reading}__prev_ts`);
const prevPartialLast = (reading: string) => quoteIdent(`${reading}__prev_last`);
const prevPartialLastTs = (reading: string) => quoteIdent(`${reading}__prev_last_ts`);
/** Counters whose `drop` is asked for: only they need the previous reading or partial. */
const counters = (type: RolledUpType, only?: Only) => readingsOf(type, only).filter((r) => r.counter && statsFor(r, only).includes('drop'));

/**
 * Raw rows with each counter's previous reading in the same bucket (`partition`: device and bucket
 * expressions), ordered by time: what `drop` is computed from. Rows without the reading are left out of
 * the order, so a sample without an index never hides a fall between the two around it.
 */
function prevReadingColumns(type: RolledUpType, source: string, partition: readonly string[], only?: Only): string {
  const cs = counters(type, only);
  if (cs.length === 0) return source;
  const cols = cs.map((r) => {
    const v = quoteIdent(r.name);
    const w = `OVER (PARTITION BY ${partition.join(', ')}, ${v} IS NULL ORDER BY ts, ${v})`;
    return `lag(${v}) ${w} AS ${prevReading(r.name)}, lag(ts) ${w} AS ${prevReadingTs(r.name)}`;
  });
  return `SELECT *, ${cols.join(', ')} FROM (${source}) raw_rows`;
}

/**
 * Partial rows of buckets (`keys`) with, for each counter, the last reading of the partial before in
 * time: merging `drop` needs the fall across two partials, and knows it exactly only when they do not
 * interleave (mergeAgg).
 */
function prevPartialColumns(type: RolledUpType, relation: string, keys: readonly string[], only?: Only): string {
  const cs = counters(type, only);
  if (cs.length === 0) return relation;
  const cols = cs.map((r) => {
    const [f, l] = [col(r.name, 'first_ts'), col(r.name, 'last_ts')];
    const w = `OVER (PARTITION BY ${keys.join(', ')}, ${f} IS NULL ORDER BY ${f}, ${l})`;
    return `lag(${col(r.name, 'last')}) ${w} AS ${prevPartialLast(r.name)}, lag(${l}) ${w} AS ${prevPartialLastTs(r.name)}`;
  });
  return `SELECT *, ${cols.join(', ')} FROM (${relation}) partials`;
}

/**
 * The same statistic merging partial rows of one bucket; `x(stat)` names a partial's column, `p` the
 * alias prefix of the relation (with prevPartialColumns for `drop`).
 */
function mergeAgg(r: RolledUpReading, stat: Stat, x: (s: Stat) => string, p: string): string {
  switch (stat) {
    case 'n':
      return `sum(${x('n')})::INTEGER`;
    case 'min':
      return `min(${x('min')})`;
    case 'max':
      return `max(${x('max')})`;
    case 'sum':
      return `sum(${x('sum')})::${statSql(r, 'sum')}`;
    case 'last':
      return `arg_max(${x('last')}, row(${x('last_ts')}, ${x('last')})) FILTER (WHERE ${x('last_ts')} IS NOT NULL)`;
    case 'last_ts':
      return `max(${x('last_ts')})`;
    case 'first':
      return `arg_min(${x('first')}, row(${x('first_ts')}, ${x('first')})) FILTER (WHERE ${x('first_ts')} IS NOT NULL)`;
    case 'first_ts':
      return `min(${x('first_ts')})`;
    case 'drop': {
      const [pl, plTs] = [`${p}${prevPartialLast(r.name)}`, `${p}${prevPartialLastTs(r.name)}`];
      return `max(CASE WHEN ${x('first_ts')} IS NULL THEN NULL WHEN ${plTs} IS NULL THEN ${x('drop')} WHEN ${plTs} >= ${x('first_ts')} THEN ${UNKNOWN_DROP_SQL}
        ELSE greatest(${x('drop')}, (${pl} - ${x('first')})::DOUBLE) END)`;
    }
  }
}

/** `n` and every statistic merged over partial rows with the same column names (GROUP BY the bucket). */
export function mergeAggs(type: RolledUpType, alias = '', only?: Only): string {
  const p = alias ? `${alias}.` : '';
  const stats = readingsOf(type, only).flatMap((r) => statsFor(r, only).map((s) => `${mergeAgg(r, s, (x) => `${p}${col(r.name, x)}`, p)} AS ${col(r.name, s)}`));
  return [`sum(${p}n)::INTEGER AS n`, ...stats].join(', ');
}

/** Hour rows (device_id, day, h, n, statistics) from raw-shaped rows. */
export function hourRowsFromRaw(type: RolledUpType, source: string, only?: Only): string {
  return bucketRowsFromRaw(type, source, [`${localDaySql('ts')} AS day`, `${localHourSql('ts')}::TINYINT AS h`], only);
}

/** Rows per device and bucket from raw-shaped rows: `keys` are the bucket's SELECT expressions. */
export function bucketRowsFromRaw(type: RolledUpType, source: string, keys: readonly string[], only?: Only): string {
  const stats = readingsOf(type, only).flatMap((r) => statsFor(r, only).map((s) => `${rawAgg(r, s)} AS ${col(r.name, s)}`));
  const partition = ['device_id', ...keys.map((k) => k.replace(/\s+AS\s+\w+$/i, ''))];
  return `SELECT device_id, ${keys.join(', ')}, count(*)::INTEGER AS n, ${stats.join(', ')} FROM (${prevReadingColumns(type, source, partition, only)}) src GROUP BY ALL`;
}

/** Merged hour rows of one or more hour-row relations. */
export function mergeHourRows(type: RolledUpType, relations: readonly string[], only?: Only): string {
  const cols = ['device_id', 'day', 'h', 'n', ...statNames(type, col, only)].join(', ');
  const partials = relations.map((r) => `SELECT ${cols} FROM (${r})`).join(' UNION ALL ');
  return `SELECT device_id, day, h, ${mergeAggs(type, 'u', only)} FROM (${prevPartialColumns(type, partials, ['device_id', 'day', 'h'], only)}) u GROUP BY device_id, day, h`;
}

/** Day statistics (device_id, day, n, statistics) merged from hour rows or day rows. */
export function dayStatsFrom(type: RolledUpType, relations: readonly string[], only?: Only): string {
  const cols = `device_id, day, n, ${statNames(type, col, only).join(', ')}`;
  const partials = relations.map((r) => `SELECT ${cols} FROM (${r})`).join(' UNION ALL ');
  return `SELECT device_id, day, ${mergeAggs(type, 'u', only)} FROM (${prevPartialColumns(type, partials, ['device_id', 'day'], only)}) u GROUP BY device_id, day`;
}

/** `SET` of an upsert of scalar rows: every statistic merged from the stored row (`table`) and `excluded`. */
export function mergeSet(type: RolledUpType, table: string, incoming = 'excluded', dma = carriesDma(type)): string {
  const sets = [`n = ${table}.n + ${incoming}.n`];
  if (dma) sets.push(`dma = coalesce(${incoming}.dma, ${table}.dma)`, `inlet = coalesce(${incoming}.inlet, ${table}.inlet)`);
  for (const r of rolledUpReadings(type)) {
    for (const s of statsOf(r)) {
      const [a, b] = [`${table}.${col(r.name, s)}`, `${incoming}.${col(r.name, s)}`];
      if (s === 'drop') {
        sets.push(`${col(r.name, s)} = ${mergeDrop(r.name, table, incoming)}`);
        continue;
      }
      const ts = (side: string, t: Stat) => `${side}.${col(r.name, t)}`;
      sets.push(`${col(r.name, s)} = ${mergeStat(s, a, b, ts(table, s === 'first' ? 'first_ts' : 'last_ts'), ts(incoming, s === 'first' ? 'first_ts' : 'last_ts'))}`);
    }
  }
  return sets.join(', ');
}

/**
 * `drop` of two partial rows of one bucket: their own drops and the fall from the earlier one's last
 * reading to the later one's first, when one ends before the other begins; unknown when they interleave.
 */
function mergeDrop(reading: string, a: string, b: string): string {
  const c = (side: string, s: Stat) => `${side}.${col(reading, s)}`;
  const [aF, aL, bF, bL] = [c(a, 'first_ts'), c(a, 'last_ts'), c(b, 'first_ts'), c(b, 'last_ts')];
  return `CASE WHEN ${bF} IS NULL THEN ${c(a, 'drop')} WHEN ${aF} IS NULL THEN ${c(b, 'drop')}
    WHEN ${aL} < ${bF} THEN greatest(${c(a, 'drop')}, ${c(b, 'drop')}, (${c(a, 'last')} - ${c(b, 'first')})::DOUBLE)
    WHEN ${bL} < ${aF} THEN greatest(${c(a, 'drop')}, ${c(b, 'drop')}, (${c(b, 'last')} - ${c(a, 'first')})::DOUBLE)
    ELSE ${UNKNOWN_DROP_SQL} END`;
}

/** Merge of one statistic of two rows; `aTs`/`bTs` order last/first. Either side may be NULL. */
function mergeStat(stat: Stat, a: string, b: string, aTs: string, bTs: string): string {
  switch (stat) {
    case 'n':
    case 'sum':
      return `coalesce(${a} + ${b}, ${a}, ${b})`;
    case 'min':
    case 'first_ts':
      return `least(${a}, ${b})`;
    case 'max':
    case 'last_ts':
      return `greatest(${a}, ${b})`;
    case 'drop':
      throw new Error('drop merges through mergeDrop');
    case 'last':
      return `CASE WHEN ${bTs} IS NULL THEN ${a} WHEN ${aTs} IS NULL THEN ${b} WHEN row(${bTs}, ${b}) > row(${aTs}, ${a}) THEN ${b} ELSE ${a} END`;
    case 'first':
      return `CASE WHEN ${bTs} IS NULL THEN ${a} WHEN ${aTs} IS NULL THEN ${b} WHEN row(${bTs}, ${b}) < row(${aTs}, ${a}) THEN ${b} ELSE ${a} END`;
  }
}
