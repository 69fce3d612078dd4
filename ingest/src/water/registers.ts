/**
 * A meter's register (its cumulative index) at given moments, from the raw readings in DuckDB: the reading
 * at or before each moment and the one at or after it (ASOF joins), interpolated linearly between them
 * (domain notes: volumes over a period come from register values interpolated at the period's ends).
 *
 * The register is read as corrected first: a drop of more than `resetMinDropL` is a rollover when the
 * register was near a power of ten and restarts near zero (a 99,999,999 L display wrapping to 0), whose
 * litres are kept, or else a reset (a meter replaced or reprogrammed), whose interval counts nothing. A
 * smaller drop is reverse flow and counts negative. Both are returned, so volumes across them are flagged.
 *
 * The SQL reads only readings within `maxGapMs` of a moment, so issue 15's rollups can serve the same
 * question from "the index around each end" without a scan of the whole history.
 */
import type { SqlReader } from '../storage/duckdb/database.js';
import { toNumber } from '../storage/duckdb/database.js';
import { bucketPlan, type FallenBucket } from './register-buckets.js';
import type { FigureBook } from './kept-figures.js';

export interface RegisterSettings {
  /** Readings further than this from a moment are not used for it (and no extrapolation goes further). */
  maxGapMs: number;
  /** A register drop larger than this is a rollover or a reset, not reverse flow. */
  resetMinDropL: number;
  /**
   * Read the rollups when more readings than this (of all meters) lie within reach of the moments; fewer
   * are cheaper to walk than the rollups' query is to plan (~0.1 s). Both give the same answer. Default
   * ROLLUPS_ABOVE_READINGS.
   */
  rollupsAboveReadings?: number;
}

/** A million readings: a 15-minute city of 130,000 meters takes two hours to store that many. */
export const ROLLUPS_ABOVE_READINGS = 1_000_000;

/** The register of one meter at one moment. */
export interface RegisterAt {
  deviceId: string;
  at: number;
  /** Corrected register (litres since the first reading used, rollovers added); null when unknown. */
  litres: number | null;
  /** The raw index as the meter would show it (interpolated), null when unknown. */
  indexL: number | null;
  /** `read`: a reading at that moment; `interpolated` between readings around it; `extrapolated` from one side only. */
  how: 'read' | 'interpolated' | 'extrapolated' | 'unknown';
  /** The readings used: at or before, and at or after (null when none within the gap). */
  beforeTs: number | null;
  afterTs: number | null;
}

/** A rollover or reset seen in the readings (the reading where the register dropped). */
export interface RegisterBreak {
  deviceId: string;
  ts: number;
  kind: 'rollover' | 'reset';
  fromIndexL: number;
  toIndexL: number;
}

export interface RegistersAt {
  /** deviceId → one entry per moment, in the order given. */
  at: Map<string, RegisterAt[]>;
  breaks: RegisterBreak[];
}

const HOUR = 3_600_000;

/**
 * Where the water figures read: SQL reads (the API's read pool) and, with issue 15's archive, the water
 * meters' readings of a time range as one relation, hot and archived (history/archive.ts rawSource), so
 * a balance or a billing read of a month past RAW_RETENTION_DAYS sees the readings it saw before they
 * were archived. Without it, the hot table alone.
 */
export interface WaterReader extends SqlReader {
  /** The readings with from ≤ ts < to, as a relation with the columns of samples_water_meter. */
  waterReadings?(from: number, to: number): string;
  /**
   * Issue 15's rollups of the meters' registers per Japan day or hour, where they cover local days from
   * `fromDay` (days since 1970-01-01): a relation (device_id, start, first_t, first, last_t, last, drop)
   * restricted by `where` (SQL over device_id and day, a DATE), times in epoch ms, `drop` the register's
   * largest fall between consecutive readings of the bucket (+∞ when not known exactly). Undefined when
   * they do not cover `fromDay`.
   */
  registerBuckets?(unit: 'day' | 'hour', where: string, fromDay: number): string | undefined;
  /** Where the DMAs' daily figures are kept once computed (kept-figures.ts); computed every time without it. */
  figures?: FigureBook;
  /**
   * Runs `read` with every read of this reader (and of readers made from it by spreading it) in one
   * snapshot, and `waterReadings` planned from the parts list of that snapshot (history/archive.ts
   * asSeenBy): a day of readings moving to a segment meanwhile is read once, not missed.
   */
  snapshot?<T>(read: () => Promise<T>): Promise<T>;
}

/** `read` in one snapshot of `db` when it has them (WaterReader.snapshot). */
export const inOneSnapshot = <T>(db: WaterReader, read: () => Promise<T>): Promise<T> => (db.snapshot ? db.snapshot(read) : read());

/** The readings with from ≤ ts ≤ to as a relation (the queries below bound ts again themselves). */
export const waterReadingsSql = (db: WaterReader, from: number, to: number): string => (db.waterReadings ? `(${db.waterReadings(from, to + 1)})` : 'samples_water_meter');

/** How a register step is read: within `resetMinDropL` it is flow (backwards: reverse flow), else a break. */
export const stepKind = (resetMinDropL: string) => `CASE
          WHEN prev IS NULL OR idx >= prev - ${resetMinDropL}::BIGINT THEN 'normal'
          -- the smallest power of ten above the previous index is the register's capacity
          WHEN prev >= 0.9 * pow(10, ceil(log10(prev + 1))) AND idx < 0.1 * pow(10, ceil(log10(prev + 1))) THEN 'rollover'
          ELSE 'reset' END`;
/** The litres a step adds to the corrected register: a reset adds nothing, a rollover the wrap. */
export const STEP_LITRES = `CASE kind WHEN 'normal' THEN coalesce(idx - prev, 0) WHEN 'rollover' THEN idx + pow(10, ceil(log10(prev + 1))) - prev ELSE 0 END`;

/**
 * The corrected register of `deviceIds` at every moment of `moments` (epoch ms, any order). Moments more
 * than twice the reach apart share no reading: each group of moments within reach of one another is read
 * on its own (on the rollups when it allows, register-buckets.ts, else the raw readings), so the months of
 * a year's comparison read a few days each, never the year between. The groups are joined as one walk
 * would join them: the step from a meter's last reading of one group to its first of the next is judged
 * like any step (flow, reverse flow, rollover, reset) and carried into the register, so the answer is the
 * one a single read of every reading in reach gives (registers.test.ts compares them).
 */
export async function registersAt(db: WaterReader, deviceIds: readonly string[], moments: readonly number[], s: RegisterSettings): Promise<RegistersAt> {
  return registersInGroups(db, deviceIds, moments, reachGroups(moments, s.maxGapMs), s);
}

/** The registers from one read of every reading within reach of any moment (registersAt without groups). */
export async function registersInOneRead(db: WaterReader, deviceIds: readonly string[], moments: readonly number[], s: RegisterSettings): Promise<RegistersAt> {
  return registersInGroups(db, deviceIds, moments, [[...new Set(moments)]], s);
}

/** One read per group of moments (in time order), joined by carrying each meter's register across. */
async function registersInGroups(db: WaterReader, deviceIds: readonly string[], moments: readonly number[], groups: readonly number[][], s: RegisterSettings): Promise<RegistersAt> {
  if (deviceIds.length === 0 || moments.length === 0) return { at: new Map(), breaks: [] };
  // Each group's rows are turned into registers as soon as read: a city's month is read 5,000 meters at
  // a time, and rows kept for the whole read would be garbage the heap grows for.
  const carried = new Map<string, { idx: number | null; reg: number }>();
  const byKey = new Map<string, RegisterAt>();
  const breaks: RegisterBreak[] = [];
  for (const group of groups) {
    const rows = await registersNear(db, deviceIds, group, s);
    const shifts = carryOver(rows, carried, s.resetMinDropL, breaks);
    breaks.push(...breaksOf(rows));
    for (const r of rows) {
      const id = String(r.device_id);
      const t = toNumber(r.t)!;
      byKey.set(`${id}|${t}`, interpolate(id, t, r, s.maxGapMs, shifts.get(id) ?? 0));
    }
  }
  breaks.sort((x, y) => (x.deviceId === y.deviceId ? x.ts - y.ts : x.deviceId < y.deviceId ? -1 : 1));
  return { at: new Map(deviceIds.map((id) => [id, moments.map((t) => byKey.get(`${id}|${t}`) ?? unknown(id, t))])), breaks };
}

/** The moments (deduplicated, in time order) cut wherever two lie more than twice the reach apart. */
export function reachGroups(moments: readonly number[], maxGapMs: number): number[][] {
  const sorted = [...new Set(moments)].sort((a, b) => a - b);
  const groups: number[][] = [];
  for (const [i, t] of sorted.entries()) {
    if (i === 0 || t - sorted[i - 1]! > 2 * maxGapMs) groups.push([t]);
    else groups.at(-1)!.push(t);
  }
  return groups;
}

/**
 * How far each meter's register in one group's read (`registersNear`) is shifted to continue the walk of
 * the groups before: its register there counts from its first reading in the group, so it is shifted by
 * the register its last reading before reached plus the step between the two readings, judged as the raw
 * query judges a step (a rollover adds the wrap, a reset nothing) and added to `breaks` when it is one.
 * `carried` (each meter's last reading so far, shifted) is brought up to date.
 */
function carryOver(rows: ReadonlyArray<Record<string, unknown>>, carried: Map<string, { idx: number | null; reg: number }>, resetMinDropL: number, breaks: RegisterBreak[]): Map<string, number> {
  const shifts = new Map<string, number>();
  for (const r of rows) {
    const id = String(r.device_id);
    if (shifts.has(id) || r.first_t === null || r.first_t === undefined) continue;
    const [firstT, firstIdx, lastIdx, lastReg] = [r.first_t, r.first_idx, r.last_idx, r.last_reg].map(toNumber) as [number, number | null, number | null, number];
    const before = carried.get(id);
    const step = before ? judgeStep(before.idx, firstIdx, resetMinDropL) : { kind: 'normal' as const, litres: 0 };
    if (step.kind !== 'normal') breaks.push({ deviceId: id, ts: firstT, kind: step.kind, fromIndexL: before!.idx!, toIndexL: firstIdx! });
    const shift = before ? before.reg + step.litres : 0;
    shifts.set(id, shift);
    carried.set(id, { idx: lastIdx, reg: lastReg + shift });
  }
  return shifts;
}

/** One step of the register from `prev` to `idx`, as `stepKind` and `STEP_LITRES` judge it in SQL. */
export function judgeStep(prev: number | null, idx: number | null, resetMinDropL: number): { kind: 'normal' | 'rollover' | 'reset'; litres: number } {
  if (prev === null || (idx !== null && idx >= prev - resetMinDropL)) return { kind: 'normal', litres: prev === null || idx === null ? 0 : idx - prev };
  const capacity = Math.pow(10, Math.ceil(Math.log10(prev + 1)));
  if (idx !== null && prev >= 0.9 * capacity && idx < 0.1 * capacity) return { kind: 'rollover', litres: idx + capacity - prev };
  return { kind: 'reset', litres: 0 };
}

/**
 * One query for moments within reach of one another: on the rollups when the moments allow it, else on
 * the raw readings. One row per meter and moment (pointsQuery), with the meter's breaks and its first and
 * last reading used.
 */
function registersNear(db: WaterReader, deviceIds: readonly string[], moments: readonly number[], s: RegisterSettings): Promise<ReadonlyArray<Record<string, unknown>>> {
  return inOneSnapshot(db, () => registersNearIn(db, deviceIds, moments, s));
}

async function registersNearIn(db: WaterReader, deviceIds: readonly string[], moments: readonly number[], s: RegisterSettings): Promise<ReadonlyArray<Record<string, unknown>>> {
  const [lo, hi] = [Math.min(...moments) - s.maxGapMs, Math.max(...moments) + s.maxGapMs];
  const [ids, at] = [JSON.stringify(deviceIds), JSON.stringify([...new Set(moments)])];
  const plan = (await manyReadings(db, lo, hi, s.rollupsAboveReadings ?? ROLLUPS_ABOVE_READINGS)) ? bucketPlan(db, ids, moments, s) : undefined;
  if (!plan) return db.all(pointsQuery(rawPoints(db, lo, hi), s.maxGapMs), [ids, at, lo, hi, s.maxGapMs, s.resetMinDropL]);
  // Asked with the buckets known to have fallen, the answer lists those that have (data stored between
  // two asks may add some): asked again until the lists agree; with a great many, the raw readings answer.
  let fallen: FallenBucket[] = [];
  for (let attempt = 0; attempt < 3 && fallen.length <= MAX_FALLEN_BUCKETS; attempt++) {
    const rows = await db.all(pointsQuery(plan.points(fallen), s.maxGapMs, true), [ids, at, s.resetMinDropL]);
    const listed = ((rows.find((r) => r.fallen)?.fallen ?? []) as Array<Record<string, unknown>>).map((f) => ({ d: String(f.device_id), s: Number(f.start), e: Number(f.start) + Number(f.len) }));
    const asked = new Set(fallen.map(bucketKey));
    if (listed.every((f) => asked.has(bucketKey(f)))) return rows;
    fallen = [...fallen, ...listed.filter((f) => !asked.has(bucketKey(f)))];
  }
  return db.all(pointsQuery(rawPoints(db, lo, hi), s.maxGapMs), [ids, at, lo, hi, s.maxGapMs, s.resetMinDropL]);
}

/** Beyond this many buckets to read from the raw rows, the raw query answers on its own. */
const MAX_FALLEN_BUCKETS = 10_000;
const bucketKey = (f: FallenBucket) => `${f.d}|${f.s}`;

/** More than `limit` readings (of any meter) with lo ≤ ts ≤ hi; counts no further than that. */
async function manyReadings(db: WaterReader, lo: number, hi: number, limit: number): Promise<boolean> {
  if (limit <= 0 || !db.registerBuckets) return limit <= 0;
  const [row] = await db.all(`SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${waterReadingsSql(db, lo, hi)} s WHERE s.ts >= epoch_ms(${Math.trunc(lo)}::BIGINT) AND s.ts <= epoch_ms(${Math.trunc(hi)}::BIGINT) LIMIT ${Math.trunc(limit) + 1})`);
  return Number(row?.n ?? 0) > limit;
}

/** CTEs d (devices), b (moments) and reg (device_id, t, idx, kind, prev, reg): every reading the answer uses. */
function rawPoints(db: WaterReader, lo: number, hi: number): string {
  return `
    d AS (SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS device_id),
    b AS (SELECT unnest(from_json($2::JSON, '["BIGINT"]')) AS t),
    raw AS (
      SELECT s.device_id, epoch_ms(s.ts) AS t, max(s."indexL") AS idx
      FROM ${waterReadingsSql(db, lo, hi)} s
      WHERE s.device_id IN (SELECT device_id FROM d) AND s.ts >= epoch_ms($3::BIGINT) AND s.ts <= epoch_ms($4::BIGINT)
        AND EXISTS (SELECT 1 FROM b WHERE epoch_ms(s.ts) BETWEEN b.t - $5::BIGINT AND b.t + $5::BIGINT)
      GROUP BY s.device_id, s.ts),
    steps AS (SELECT device_id, t, idx, lag(idx) OVER (PARTITION BY device_id ORDER BY t) AS prev FROM raw),
    kinds AS (SELECT *, ${stepKind('$6')} AS kind FROM steps),
    reg AS MATERIALIZED (
      SELECT device_id, t, idx, kind, prev,
        sum(${STEP_LITRES}) OVER (PARTITION BY device_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS reg
      FROM kinds)`;
}

/**
 * Registers at each moment from the readings' registers (`points`: CTEs d, b, reg). `fallen`: the rollups'
 * buckets to read from the raw rows, listed on the first row (register-buckets.ts).
 */
function pointsQuery(points: string, maxGapMs: number, fallen = false): string {
  const gap = `${Math.trunc(maxGapMs)}::BIGINT`;
  // For each meter and moment t, four readings: the last at or before t (lo) and the first at or after it
  // (hi), and for the mean flow of a moment read from one side, the first at or after t − reach (rf) and
  // the last at or before t + reach (rl). One sort of the readings with marks at those instants finds
  // them all: a mark's running count of readings is the ordinal of the reading it wants (ord places a
  // mark before or after readings of its own instant). Four ASOF joins sorted the readings four times.
  return `WITH ${points},
    regn AS MATERIALIZED (SELECT *, row_number() OVER (PARTITION BY device_id ORDER BY t) AS n FROM reg),
    marks AS (
      SELECT d.device_id, b.t, m.k, b.t + m.shift AS pos, m.ord, m.next
      FROM d CROSS JOIN b CROSS JOIN (VALUES ('lo', 0::BIGINT, 1, 0), ('hi', 0::BIGINT, -1, 1), ('rf', -${gap}, -1, 1), ('rl', ${gap}, 1, 0)) m(k, shift, ord, next)),
    counted AS (
      SELECT device_id, t, k, next, count(n) OVER (PARTITION BY device_id ORDER BY pos, ord ROWS UNBOUNDED PRECEDING) AS c
      FROM (SELECT device_id, NULL::BIGINT AS t, NULL::VARCHAR AS k, 0 AS next, t AS pos, 0 AS ord, n FROM regn
            UNION ALL SELECT device_id, t, k, next, pos, ord, NULL::BIGINT FROM marks)),
    found AS (
      SELECT c.device_id, c.t, c.k, r.t AS rt, r.reg, r.idx FROM counted c
      LEFT JOIN regn r ON r.device_id = c.device_id AND r.n = c.c + c.next
      WHERE c.k IS NOT NULL),
    ends AS (
      SELECT device_id, t,
        max(rt) FILTER (WHERE k = 'lo') AS t0, max(reg) FILTER (WHERE k = 'lo') AS r0, max(idx) FILTER (WHERE k = 'lo') AS i0,
        max(rt) FILTER (WHERE k = 'hi') AS t1, max(reg) FILTER (WHERE k = 'hi') AS r1, max(idx) FILTER (WHERE k = 'hi') AS i1,
        max(rt) FILTER (WHERE k = 'rf') AS tf, max(reg) FILTER (WHERE k = 'rf') AS rf,
        max(rt) FILTER (WHERE k = 'rl') AS tl, max(reg) FILTER (WHERE k = 'rl') AS rl
      FROM found GROUP BY device_id, t),
    span AS (
      SELECT device_id, list({'t': t, 'kind': kind, 'prev': prev, 'idx': idx} ORDER BY t) FILTER (WHERE kind <> 'normal') AS breaks,
        -- Where the next group of moments takes the register on from (registersAt).
        min(t) AS first_t, first(idx ORDER BY t) AS first_idx, first(idx ORDER BY t DESC) AS last_idx, first(reg ORDER BY t DESC) AS last_reg
      FROM reg GROUP BY device_id)
    SELECT e.device_id, e.t, e.t0, e.r0, e.i0, e.t1, e.r1, e.i1, e.tf, e.rf, e.tl, e.rl, span.breaks, span.first_t, span.first_idx, span.last_idx, span.last_reg
      ${fallen ? `, CASE WHEN row_number() OVER () = 1 THEN (SELECT list({'device_id': device_id, 'start': start, 'len': len}) FROM fallen) END AS fallen` : ''}
    FROM ends e LEFT JOIN span USING (device_id)`;
}

/** The breaks one read found (each meter's are listed on each of its rows). */
function breaksOf(rows: ReadonlyArray<Record<string, unknown>>): RegisterBreak[] {
  const breaks: RegisterBreak[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const id = String(r.device_id);
    if (seen.has(id)) continue;
    seen.add(id);
    for (const b of (r.breaks ?? []) as Array<Record<string, unknown>>) {
      breaks.push({ deviceId: id, ts: toNumber(b.t)!, kind: b.kind === 'rollover' ? 'rollover' : 'reset', fromIndexL: toNumber(b.prev)!, toIndexL: toNumber(b.idx)! });
    }
  }
  return breaks;
}

const unknown = (deviceId: string, at: number): RegisterAt => ({ deviceId, at, litres: null, indexL: null, how: 'unknown', beforeTs: null, afterTs: null });

/**
 * A moment's register from the readings within `maxGapMs` of it, and only those (whatever else was asked
 * at the same time, so a day's figure is the same in a week's question or on its own): between two
 * readings, linear; from one side only, at the meter's mean flow over the readings within reach (a silent
 * meter is estimated, never read as zero use, and never for long); unknown with fewer than two.
 */
function interpolate(deviceId: string, t: number, r: Record<string, unknown>, maxGapMs: number, shift = 0): RegisterAt {
  const shifted = (v: unknown) => (v === null || v === undefined ? null : toNumber(v)! + shift);
  const [t0, i0, t1, i1] = [r.t0, r.i0, r.t1, r.i1].map(toNumber) as [number | null, number | null, number | null, number | null];
  const [r0, r1] = [shifted(r.r0), shifted(r.r1)];
  const before = t0 !== null && t - t0 <= maxGapMs;
  const after = t1 !== null && t1 - t <= maxGapMs;
  const base = { deviceId, at: t, beforeTs: before ? t0 : null, afterTs: after ? t1 : null };
  if (before && t0 === t) return { ...base, litres: r0, indexL: i0, how: 'read' };
  if (before && after) {
    const f = (t - t0!) / (t1! - t0!);
    // The raw index is interpolated only where the register did not break in between.
    const index = i1! >= i0! ? i0! + f * (i1! - i0!) : i0;
    return { ...base, litres: r0! + f * (r1! - r0!), indexL: index, how: 'interpolated' };
  }
  const [tf, tl] = [r.tf, r.tl].map(toNumber) as [number | null, number | null];
  const [rf, rl] = [shifted(r.rf), shifted(r.rl)];
  if (tf === null || tl === null || tl <= tf) return unknown(deviceId, t);
  const rate = (rl! - rf!) / (tl - tf);
  if (before) return { ...base, litres: r0! + rate * (t - t0!), indexL: i0! + rate * (t - t0!), how: 'extrapolated' };
  if (after) return { ...base, litres: r1! - rate * (t1! - t), indexL: i1! - rate * (t1! - t), how: 'extrapolated' };
  return unknown(deviceId, t);
}

/** Default: 48 h (longer than any batch interval a meter delivers in), a drop over 1 m³ is no backflow. */
export const DEFAULT_REGISTER_SETTINGS: RegisterSettings = { maxGapMs: 48 * HOUR, resetMinDropL: 1000 };
