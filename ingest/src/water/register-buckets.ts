/**
 * Registers from issue 15's rollups instead of every reading: a DMA's daily balance over a month, or its
 * nights, read one row per meter and day (or hour) instead of every reading of the city.
 *
 * The raw query (registers.ts) walks a meter's readings in time, judging each step (flow, reverse flow, a
 * rollover, a reset) and adding it to the corrected register. Here a bucket of the rollups is one segment
 * of that walk: its first and last reading, the register between them rising by `last − first` when it
 * never fell by more than `resetMinDropL` inside (the bucket's `drop`, rollup-sql.ts). A bucket that did,
 * or whose drop is not known (late data interleaved), is read from the raw rows, each reading a segment
 * of its own. Steps between segments are judged exactly as the raw query judges steps between readings,
 * so both give the same registers and breaks (registers.test.ts compares them on data with rollovers,
 * resets, reverse flow, silences and late data).
 *
 * Used when every moment is a whole hour, the reach (`maxGapMs`) is whole hours and no two moments are
 * further apart than twice the reach: the raw query then reads every reading in [first moment − reach,
 * last moment + reach], and the segments cover that span exactly. Days with no moment inside them are day
 * buckets; other days, and the partial days at the ends, hour buckets. Of the bucket at the very end of the
 * reach only a reading at its first instant counts, as in the raw query (its bound is inclusive).
 */
import type { WaterReader, RegisterSettings } from './registers.js';
import { STEP_LITRES, stepKind, waterReadingsSql } from './registers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Japan is UTC+9 all year: local midnight is 15:00 UTC. */
const JST = 9 * HOUR;
const dayOf = (t: number) => Math.floor((t + JST) / DAY);
const dayStart = (day: number) => day * DAY - JST;
const dateSql = (day: number) => `DATE '1970-01-01' + ${day}`;
const sqlString = (v: string) => `'${v.replaceAll("'", "''")}'`;
const jsonLiteral = (v: unknown) => sqlString(JSON.stringify(v));

/** Buckets whose register fell beyond the reset threshold, or is not known: read from the raw rows. */
export interface FallenBucket {
  d: string;
  s: number;
  e: number;
}

/**
 * The rollups' answer for `moments`, or undefined when the moments do not allow it. `points(fallen)`:
 * CTEs d (devices), b (moments), buckets, fallen (device_id, start, len) and reg (device_id, t, idx, kind,
 * prev, reg), with the parameters $1 device ids, $2 moments, $3 resetMinDropL, reading the raw rows of the
 * `fallen` buckets given. Most days no register falls: the caller asks with none, and again with the list
 * only when the answer says some did (`fallen` not empty), so the common case is one query.
 */
export function bucketPlan(db: WaterReader, ids: string, moments: readonly number[], s: RegisterSettings): { points(fallen: readonly FallenBucket[]): string } | undefined {
  if (!db.registerBuckets || s.maxGapMs % HOUR !== 0) return undefined;
  const sorted = [...new Set(moments)].sort((a, b) => a - b);
  if (sorted.some((t) => t % HOUR !== 0) || sorted.some((t, i) => i > 0 && t - sorted[i - 1]! > 2 * s.maxGapMs)) return undefined;
  const [lo, hi] = [sorted[0]! - s.maxGapMs, sorted.at(-1)! + s.maxGapMs];
  // Whole days inside [lo, hi) without a moment strictly inside them are day buckets; the rest hours.
  // The ends of each moment's reach count as moments: a moment read from one side takes the mean flow of
  // the readings within reach of it (registers.ts), so its first and last must be bucket ends.
  const edges = sorted.flatMap((t) => [t - s.maxGapMs, t, t + s.maxGapMs]);
  const inside = new Set(edges.filter((t) => (t + JST) % DAY !== 0).map(dayOf));
  const [days, hourDays]: [number[], number[]] = [[], []];
  for (let d = dayOf(lo); d <= dayOf(hi); d++) (dayStart(d) >= lo && dayStart(d + 1) <= hi && !inside.has(d) ? days : hourDays).push(d);
  // Ranges as well as the exact sets: DuckDB checks a range against each row group's statistics, so the
  // scan of a city's rollups reads only the days asked for, and of them the row groups holding the meters'
  // ids (closed days are stored sorted by device), where a set alone is joined after reading every row.
  const inDays = (list: readonly number[]) => (list.length === 0 ? 'false' : `day BETWEEN ${dateSql(list[0]!)} AND ${dateSql(list.at(-1)!)} AND day IN (${list.map(dateSql).join(', ')})`);
  const idList = JSON.parse(ids) as string[];
  const [first, last] = idList.reduce(([a, b], id) => [id < a ? id : a, id > b ? id : b], [idList[0]!, idList[0]!]);
  const devices = `device_id BETWEEN ${sqlString(first)} AND ${sqlString(last)} AND device_id IN (SELECT device_id FROM d)`;
  const dayRel = db.registerBuckets('day', `${devices} AND ${inDays(days)}`, dayOf(lo));
  const hourRel = db.registerBuckets('hour', `${devices} AND ${inDays(hourDays)}`, dayOf(lo));
  if (dayRel === undefined || hourRel === undefined) return undefined;
  const listed = (fallen: readonly FallenBucket[]) =>
    fallen.length === 0 ? `SELECT NULL::VARCHAR AS d, NULL::BIGINT AS s WHERE false` : `SELECT unnest(from_json(${jsonLiteral(fallen)}, '[{"d":"VARCHAR","s":"BIGINT","e":"BIGINT"}]'), recursive := true)`;
  const rawOf = (fallen: readonly FallenBucket[]) => fallen.length === 0
    ? `SELECT NULL::VARCHAR AS device_id, NULL::BIGINT AS t, NULL::BIGINT AS idx WHERE false`
    : `SELECT s.device_id, epoch_ms(s.ts) AS t, max(s."indexL") AS idx
       FROM ${waterReadingsSql(db, Math.max(lo, fallen.reduce((m, f) => Math.min(m, f.s), Infinity)), Math.min(hi, fallen.reduce((m, f) => Math.max(m, f.e), -Infinity)))} s
       SEMI JOIN (${listed(fallen)}) f
         ON s.device_id = f.d AND epoch_ms(s.ts) >= f.s AND epoch_ms(s.ts) < f.e
       WHERE s.ts >= epoch_ms(${lo}::BIGINT) AND s.ts <= epoch_ms(${hi}::BIGINT) AND s."indexL" IS NOT NULL
       GROUP BY s.device_id, s.ts`;
  const whole = `start + len <= ${hi}`;
  return {
    points: (fallen) => `
    d AS (SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS device_id),
    b AS (SELECT unnest(from_json($2::JSON, '["BIGINT"]')) AS t),
    -- Day buckets, the hours inside the reach, and the hour starting at its inclusive end.
    buckets AS MATERIALIZED (
      SELECT *, ${DAY}::BIGINT AS len FROM (${dayRel}) UNION ALL SELECT *, ${HOUR}::BIGINT FROM (${hourRel}) WHERE start >= ${lo} AND start <= ${hi}),
    fallen AS (SELECT device_id, start, len FROM buckets WHERE drop > $3::DOUBLE),
    segs AS (
      SELECT device_id, first_t AS t0, first AS v0, CASE WHEN ${whole} THEN last_t ELSE first_t END AS t1, CASE WHEN ${whole} THEN last ELSE first END AS v1
      FROM buckets WHERE drop <= $3::DOUBLE AND (${whole} OR first_t = ${hi}::BIGINT)
        AND NOT EXISTS (SELECT 1 FROM (${listed(fallen)}) f WHERE f.d = buckets.device_id AND f.s = buckets.start)
      UNION ALL SELECT device_id, t, idx, t, idx FROM (${rawOf(fallen)})),
    steps AS (SELECT device_id, t0, v0 AS idx, t1, v1, lag(v1) OVER (PARTITION BY device_id ORDER BY t0) AS prev FROM segs),
    kinds AS (SELECT *, ${stepKind('$3')} AS kind FROM steps),
    seg_reg AS MATERIALIZED (
      SELECT *, sum(${STEP_LITRES} + (v1 - idx)) OVER (PARTITION BY device_id ORDER BY t0 ROWS UNBOUNDED PRECEDING) AS reg_last FROM kinds),
    reg AS MATERIALIZED (
      SELECT device_id, t0 AS t, idx, kind, prev, reg_last - (v1 - idx) AS reg FROM seg_reg
      UNION ALL SELECT device_id, t1, v1, 'normal', NULL, reg_last FROM seg_reg WHERE t1 > t0)`,
  };
}
