/**
 * Closed days' rows (rollups.ts closeDays): one row per device and day, the day's statistics, then each
 * hourly statistic as a list of 24 (NULL: no data that hour), stored compactly (issue 15, disk per reading).
 *
 * DuckDB compresses a column in groups of 2,048 values with one bit width each, and a group of these lists
 * spans some 85 devices: a full timestamp or a register's absolute value costs 20–38 bits there whatever
 * the order. So the lists hold what is new in each hour, and readers (`unnestHours`) get the same values
 * back, exactly:
 * - times: an hour's first and last sample time, shared by every reading, as milliseconds from the hour's
 *   start (`h_first_ms`, `h_last_ms`); a reading's own first/last time only where it differs from those
 *   (a reading missing from the hour's last sample, or a time finer than a millisecond);
 * - integer readings (registers, counts): min, max, first and last as offsets from the day's minimum;
 *   a register's hour minimum is its first reading and its maximum its last unless it fell, so those are
 *   stored only when they differ.
 * Measured on two days of 130,000 meters: 10.2 bytes per reading in the plain lists, 3.5 compact.
 * The plain layout (every statistic as it is) is what stores made before hold; migrate.ts converts them.
 */
import { col, hourCol, rolledUpReadings, statsOf, type RolledUpReading, type RolledUpType, type Stat } from './columns.js';
import { localDayStartSql } from './local-time.js';
import { dayOpenColumns, names, readingsOf, statColumns, statNames, statsFor, type Column, type Only } from './rollup-sql.js';

export type HourLayout = 'compact' | 'plain';

const hasFirstTs = (type: RolledUpType) => rolledUpReadings(type).some((r) => statsOf(r).includes('first_ts'));

/** The hours' shared sample times, as milliseconds from each hour's start. */
const timeLists = (type: RolledUpType): Column[] => [...(hasFirstTs(type) ? [{ name: 'h_first_ms', sql: 'INTEGER[]' }] : []), { name: 'h_last_ms', sql: 'INTEGER[]' }];

/** Closed day rows: the day's statistics, the hours' sample counts and times, then each hourly statistic. */
export const dayColumns = (type: RolledUpType, layout: HourLayout = 'compact'): Column[] => [
  ...dayOpenColumns(type),
  { name: 'h_n', sql: 'INTEGER[]' },
  ...(layout === 'compact' ? timeLists(type) : []),
  ...statColumns(type, hourCol, '[]'),
];

/** Integer readings' statistics stored as offsets from the day's minimum (sums are exact decimals already). */
const isOffset = (r: RolledUpReading, s: Stat) => r.sql !== 'DOUBLE' && (s === 'min' || s === 'max' || s === 'first' || s === 'last');
/** A register's hour min and max are its first and last reading unless it fell: stored only when they differ. */
const pairOf = (r: RolledUpReading, s: Stat): Stat | undefined => (r.counter ? (s === 'min' ? 'first' : s === 'max' ? 'last' : undefined) : undefined);

/** SQL: epoch ms at which hour `h` of local day `day` begins. */
const hourStartMs = (day: string, h: string) => `(epoch_ms(${localDayStartSql(day)}) + ${h}::BIGINT * 3600000)`;

/** The compact lists' element expressions over one hour `e` (a struct of hour-row columns) of day row `d`. */
function compactElements(type: RolledUpType, e: string, d: string): Column[] {
  const readings = rolledUpReadings(type);
  const f = (reading: string, s: Stat) => `${e}.${col(reading, s)}`;
  const start = hourStartMs(`${d}.day`, `${e}.h`);
  const firsts = readings.filter((r) => statsOf(r).includes('first_ts')).map((r) => f(r.name, 'first_ts'));
  // greatest/least skip NULLs: a reading without data that hour does not count.
  const shared: Partial<Record<Stat, string>> = { last_ts: `greatest(${readings.map((r) => f(r.name, 'last_ts')).join(', ')})` };
  if (firsts.length > 0) shared.first_ts = `least(${firsts.join(', ')})`;
  const msOf = (t: string) => `(epoch_ms(${t}) - ${start})::INTEGER`;
  const out: Column[] = [{ name: 'h_n', sql: `${e}.n` }];
  if (shared.first_ts) out.push({ name: 'h_first_ms', sql: msOf(shared.first_ts) });
  out.push({ name: 'h_last_ms', sql: msOf(shared.last_ts!) });
  for (const r of readings) {
    for (const s of statsOf(r)) {
      const v = f(r.name, s);
      let sql = v;
      if (s === 'first_ts' || s === 'last_ts') sql = `CASE WHEN ${v} IS DISTINCT FROM epoch_ms(${start} + ${msOf(shared[s]!)}) THEN ${v} END`;
      else if (isOffset(r, s)) {
        const offset = `${v} - ${d}.${col(r.name, 'min')}`;
        const pair = pairOf(r, s);
        sql = pair ? `CASE WHEN ${v} IS DISTINCT FROM ${f(r.name, pair)} THEN ${offset} END` : offset;
      }
      out.push({ name: hourCol(r.name, s), sql });
    }
  }
  return out;
}

/** Closed day rows' hours as scalar hour rows (only hours with data), whichever the layout. */
export function unnestHours(type: RolledUpType, dayRows: string, only?: Only, layout: HourLayout = 'compact'): string {
  const readings = readingsOf(type, only);
  // Every list of the readings asked for: a compact min or max is read beside its first or last.
  const lists = readings.flatMap((r) => statsOf(r).map((s) => hourCol(r.name, s))).map((h) => `unnest(${h}) AS ${h}`);
  const compact = layout === 'compact';
  const extra = compact ? [...timeLists(type).map((c) => `unnest(${c.name}) AS ${c.name}`), ...readings.filter((r) => r.sql !== 'DOUBLE').map((r) => `${col(r.name, 'min')} AS ${base(r.name)}`)] : [];
  const value = (r: RolledUpReading, s: Stat): string => {
    const v = hourCol(r.name, s);
    if (!compact) return v;
    if (s === 'first_ts' || s === 'last_ts') {
      const shared = s === 'first_ts' ? 'h_first_ms' : 'h_last_ms';
      return `CASE WHEN ${hourCol(r.name, 'n')} > 0 THEN coalesce(${v}, epoch_ms(${hourStartMs('day', 'h')} + ${shared})) END`;
    }
    if (!isOffset(r, s)) return v;
    const pair = pairOf(r, s);
    return `(${base(r.name)} + ${pair ? `coalesce(${v}, ${hourCol(r.name, pair)})` : v})::${r.sql}`;
  };
  const stats = readings.flatMap((r) => statsFor(r, only).map((s) => `${value(r, s)} AS ${col(r.name, s)}`));
  return `SELECT device_id, day, h, n, ${stats.join(', ')} FROM (
    SELECT device_id, day, unnest(range(24))::TINYINT AS h, unnest(h_n) AS n, ${[...extra, ...lists].join(', ')} FROM (${dayRows})) WHERE n IS NOT NULL`;
}

const base = (reading: string) => `"${reading}__day_min"`;

/**
 * Closed day rows from day statistics (with dma, inlet for water meters) and hour rows: a day's 24 hours
 * (a grid, NULL where no data) gathered as one list of structs, sorted by hour, then one list per stored
 * column. (Ordered list aggregates keep a buffer per group and aggregate: 4,000 devices' days took more
 * than 1 GB that way; 24 filtered aggregates per statistic took 17 times as long as this.)
 */
export function closedRows(type: RolledUpType, dayStats: string, hours: string, layout: HourLayout = 'compact'): string {
  const stats = ['n', ...statNames(type)];
  const elements = layout === 'compact' ? compactElements(type, 'e', 'd') : [{ name: 'h_n', sql: 'e.n' }, ...statNames(type).map((c, i) => ({ name: statNames(type, hourCol)[i]!, sql: `e.${c}` }))];
  const keep = names(dayOpenColumns(type))
    .split(', ')
    .map((c) => `d.${c}`)
    .join(', ');
  return `WITH hl AS (
      SELECT k.device_id, k.day, list_sort(list(struct_pack(h := g.h, ${stats.map((c) => `${c} := hr.${c}`).join(', ')}))) AS l
      FROM (SELECT DISTINCT device_id, day FROM (${hours})) k CROSS JOIN range(24) g(h)
        LEFT JOIN (${hours}) hr ON hr.device_id = k.device_id AND hr.day = k.day AND hr.h = g.h
      GROUP BY k.device_id, k.day)
    SELECT ${keep}, ${elements.map((c) => `list_transform(hl.l, lambda e: ${c.sql}) AS ${c.name}`).join(', ')}
    FROM (${dayStats}) d JOIN hl USING (device_id, day)`;
}

/**
 * Closed day rows of the plain layout (`plainRows`) in the compact one, hour by hour from their own lists:
 * no grouping, no sort, so a store's whole history converts at the speed of a scan (migrate.ts).
 */
export function compactFromPlain(type: RolledUpType, plainRows: string): string {
  const stats = ['n', ...statNames(type)];
  const lists = ['h_n', ...statNames(type, hourCol)];
  const hours = `list_transform(range(24), lambda i: struct_pack(h := i, ${stats.map((c, k) => `${c} := ${lists[k]}[i + 1]`).join(', ')}))`;
  const keep = names(dayOpenColumns(type))
    .split(', ')
    .map((c) => `d.${c}`)
    .join(', ');
  return `SELECT ${keep}, ${compactElements(type, 'e', 'd').map((c) => `list_transform(d.hours, lambda e: ${c.sql}) AS ${c.name}`).join(', ')}
    FROM (SELECT *, ${hours} AS hours FROM (${plainRows})) d`;
}

