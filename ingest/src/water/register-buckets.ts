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
const jsonLiteral = (v: unknown) => `'${JSON.stringify(v).replaceAll("'", "''")}'`;

/**
 * CTEs d (devices), b (moments) and reg (device_id, t, idx, kind, prev, reg) from the rollups, with the
 * parameters $1 device ids, $2 moments, $3 resetMinDropL; undefined when the moments do not allow it.
 */
export async function pointsFromBuckets(db: WaterReader, ids: string, moments: readonly number[], s: RegisterSettings): Promise<string | undefined> {
  if (!db.registerBuckets || s.maxGapMs % HOUR !== 0) return undefined;
  const sorted = [...new Set(moments)].sort((a, b) => a - b);
  if (sorted.some((t) => t % HOUR !== 0) || sorted.some((t, i) => i > 0 && t - sorted[i - 1]! > 2 * s.maxGapMs)) return undefined;
  const [lo, hi] = [sorted[0]! - s.maxGapMs, sorted.at(-1)! + s.maxGapMs];
  // Whole days inside [lo, hi) without a moment strictly inside them are day buckets; the rest hours.
  const inside = new Set(sorted.filter((t) => (t + JST) % DAY !== 0).map(dayOf));
  const [days, hourDays]: [number[], number[]] = [[], []];
  for (let d = dayOf(lo); d <= dayOf(hi); d++) (dayStart(d) >= lo && dayStart(d + 1) <= hi && !inside.has(d) ? days : hourDays).push(d);
  const inDays = (list: readonly number[]) => (list.length === 0 ? 'false' : `day IN (${list.map(dateSql).join(', ')})`);
  const devices = 'device_id IN (SELECT device_id FROM d)';
  const dayRel = db.registerBuckets('day', `${devices} AND ${inDays(days)}`, dayOf(lo));
  const hourRel = db.registerBuckets('hour', `${devices} AND ${inDays(hourDays)}`, dayOf(lo));
  if (dayRel === undefined || hourRel === undefined) return undefined;
  // Hours inside the reach, and the one starting at its inclusive end.
  const buckets = `SELECT *, ${DAY}::BIGINT AS len FROM (${dayRel}) UNION ALL SELECT *, ${HOUR}::BIGINT FROM (${hourRel}) WHERE start >= ${lo} AND start <= ${hi}`;
  const d = `d AS (SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS device_id)`;
  // Buckets read from the raw rows: the register fell beyond the reset threshold there, or it is not known.
  const fell = await db.all(`WITH ${d} SELECT device_id AS d, start AS s, start + len AS e FROM (${buckets}) WHERE drop > $2::DOUBLE`, [ids, s.resetMinDropL]);
  const raw = fell.length === 0
    ? `SELECT NULL::VARCHAR AS device_id, NULL::BIGINT AS t, NULL::BIGINT AS idx WHERE false`
    : `SELECT s.device_id, epoch_ms(s.ts) AS t, max(s."indexL") AS idx
       FROM ${waterReadingsSql(db, Math.max(lo, Math.min(...fell.map((f) => Number(f.s)))), Math.min(hi, Math.max(...fell.map((f) => Number(f.e)))))} s
       SEMI JOIN (SELECT unnest(from_json(${jsonLiteral(fell.map((f) => ({ d: String(f.d), s: Number(f.s), e: Number(f.e) })))}, '[{"d":"VARCHAR","s":"BIGINT","e":"BIGINT"}]'), recursive := true)) f
         ON s.device_id = f.d AND epoch_ms(s.ts) >= f.s AND epoch_ms(s.ts) < f.e
       WHERE s.ts >= epoch_ms(${lo}::BIGINT) AND s.ts <= epoch_ms(${hi}::BIGINT) AND s."indexL" IS NOT NULL
       GROUP BY s.device_id, s.ts`;
  const whole = `start + len <= ${hi}`;
  return `
    ${d},
    b AS (SELECT unnest(from_json($2::JSON, '["BIGINT"]')) AS t),
    segs AS (
      SELECT device_id, first_t AS t0, first AS v0, CASE WHEN ${whole} THEN last_t ELSE first_t END AS t1, CASE WHEN ${whole} THEN last ELSE first END AS v1
      FROM (${buckets}) WHERE drop <= $3::DOUBLE AND (${whole} OR first_t = ${hi}::BIGINT)
      UNION ALL SELECT device_id, t, idx, t, idx FROM (${raw})),
    steps AS (SELECT device_id, t0, v0 AS idx, t1, v1, lag(v1) OVER (PARTITION BY device_id ORDER BY t0) AS prev FROM segs),
    kinds AS (SELECT *, ${stepKind('$3')} AS kind FROM steps),
    seg_reg AS (
      SELECT *, sum(${STEP_LITRES} + (v1 - idx)) OVER (PARTITION BY device_id ORDER BY t0 ROWS UNBOUNDED PRECEDING) AS reg_last FROM kinds),
    reg AS (
      SELECT device_id, t0 AS t, idx, kind, prev, reg_last - (v1 - idx) AS reg FROM seg_reg
      UNION ALL SELECT device_id, t1, v1, 'normal', NULL, reg_last FROM seg_reg WHERE t1 > t0)`;
}
