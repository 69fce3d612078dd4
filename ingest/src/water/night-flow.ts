/**
 * Minimum night flow (MNF) of a DMA, one definition for the API, the `dma-night-flow` rule and the
 * console (domain notes): MNF is measured at the inlet (bulk) meter, not summed over customer meters.
 *
 *   inlet minimum   = the lowest flow between two consecutive inlet readings inside the night window
 *                     (default 02:00–04:00 local), from index deltas; the window's mean flow when the
 *                     inlet reads less often than that
 *   legitimate use  = a configured share of the customers' night consumption (their interpolated volumes
 *                     over the window, as a flow)
 *   MNF             = inlet minimum − legitimate use; per connection = MNF ÷ customer meters enrolled
 *   MNF / ADF       = MNF as a share of the inlet's average daily flow over that local day (a DMA at or
 *                     under ~50 % is unlikely to hide major leakage)
 *
 * A night is complete once every meter that was reporting before the window has a reading at or after its
 * end (batched meters deliver hours late); the rule also judges it after a grace period.
 */
import { toNumber } from '../storage/duckdb/database.js';
import { readBetween, type WaterMeterRef } from './balance.js';
import { byDma, keptFigures, type Computed } from './kept-figures.js';
import { nightWindow, startOfDate, type LocalClock } from './local-days.js';
import { inOneSnapshot, registersAt, waterReadingsSql, type RegisterAt, type RegisterSettings, type WaterReader } from './registers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface NightSettings extends LocalClock {
  startHour: number;
  endHour: number;
  /** Share of the customers' night consumption counted as legitimate night use, %. */
  legitimateUsePct: number;
}

export interface DmaNight {
  dma: string;
  /** Local date of the night (its window is on this date, e.g. 02:00–04:00). */
  date: string;
  from: number;
  to: number;
  connections: number;
  /** Customer meters with readings around both ends of the window. */
  covered: number;
  coveragePct: number;
  /** Meters (inlet included) that reported before the window and have nothing at or after its end yet. */
  pending: string[];
  inletMinFlowLph: number | null;
  customerNightFlowLph: number;
  legitimateUseLph: number;
  mnfLph: number | null;
  mnfPerConnectionLph: number | null;
  averageDailyFlowLph: number | null;
  mnfShareOfAdfPct: number | null;
  /** No meter pending and the inlet read across the window. */
  complete: boolean;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const covers = (a: RegisterAt, b: RegisterAt) => (a.how === 'read' || a.how === 'interpolated') && (b.how === 'read' || b.how === 'interpolated');

/**
 * The lowest flow between consecutive readings inside each window, per inlet meter (L/h). Each night is
 * read on its own (a union of one time range each), so a month of nights reads its nights' readings, not
 * the month's: the inlets are a handful of meters among a city's, and the readings are stored by time.
 */
async function inletMinimum(db: WaterReader, inlets: readonly string[], windows: ReadonlyArray<{ date: string; from: number; to: number }>, resetMinDropL: number): Promise<Map<string, number>> {
  if (inlets.length === 0 || windows.length === 0) return new Map();
  const nights = windows.map((w, i) => `
        SELECT ${i} AS w, s.device_id, epoch_ms(s.ts) AS t, max(s."indexL") AS idx FROM ${waterReadingsSql(db, w.from, w.to)} s
        WHERE s.device_id IN (SELECT device_id FROM d) AND s.ts >= epoch_ms(${Math.trunc(w.from)}::BIGINT) AND s.ts <= epoch_ms(${Math.trunc(w.to)}::BIGINT)
        GROUP BY s.device_id, s.ts`);
  const rows = await inOneSnapshot(db, () => db.all(
    `WITH d AS (SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS device_id),
      raw AS (${nights.join(' UNION ALL ')}),
      p AS (SELECT w, device_id, lag(t) OVER win AS t0, t AS t1, idx - lag(idx) OVER win AS dl FROM raw WINDOW win AS (PARTITION BY w, device_id ORDER BY t))
    SELECT w, device_id, min(p.dl * 3600000.0 / (p.t1 - p.t0)) AS lph
    FROM p WHERE p.t0 IS NOT NULL AND p.dl >= -$2::BIGINT
    GROUP BY w, device_id`,
    [JSON.stringify(inlets), resetMinDropL],
  ));
  return new Map(rows.map((r) => [`${windows[Number(r.w)]!.date}|${String(r.device_id)}`, toNumber(r.lph)!]));
}

/** The night figures of each DMA of `meters` for each local date of `dates`: result[dma][i]. */
export async function dmaNights(db: WaterReader, meters: readonly WaterMeterRef[], dates: readonly string[], s: NightSettings, reg: RegisterSettings): Promise<Map<string, DmaNight[]>> {
  // A night's figures read registers at the window's ends and the day's (its average daily flow).
  const intervals = dates.map((date) => [startOfDate(date, s), startOfDate(date, s) + DAY] as const);
  return keptFigures<DmaNight>(db.figures, {
    kind: 'night', groups: byDma(meters), intervals, reachMs: reg.maxGapMs,
    settings: { night: s, maxGapMs: reg.maxGapMs, resetMinDropL: reg.resetMinDropL },
    compute: (ms, indexes) => computeNights(db, ms, indexes.map((i) => dates[i]!), s, reg),
  });
}

async function computeNights(db: WaterReader, meters: readonly WaterMeterRef[], dates: readonly string[], s: NightSettings, reg: RegisterSettings): Promise<Map<string, Array<Computed<DmaNight>>>> {
  const windows = dates.map((date) => {
    const [from, to] = nightWindow(date, s);
    return { date, from, to, dayFrom: startOfDate(date, s), dayTo: startOfDate(date, s) + DAY };
  });
  const moments = windows.flatMap((w) => [w.from, w.to, w.dayFrom, w.dayTo]);
  const { at } = await registersAt(db, meters.map((m) => m.id), moments, reg);
  const inletIds = meters.filter((m) => m.inlet).map((m) => m.id);
  const minimum = await inletMinimum(db, inletIds, windows, reg.resetMinDropL);
  const out = new Map<string, Array<Computed<DmaNight>>>();
  for (const [dma, ms] of byDma(meters)) {
    out.set(dma, windows.map((w, i) => ({ settled: ms.every((m) => at.get(m.id)!.slice(i * 4, i * 4 + 4).every(readBetween)), value: night(dma, ms, w, i) })));
  }
  return out;

  function night(dma: string, ms: readonly WaterMeterRef[], w: (typeof windows)[number], i: number): DmaNight {
    {
      const regs = (id: string) => at.get(id)!.slice(i * 4, i * 4 + 4) as [RegisterAt, RegisterAt, RegisterAt, RegisterAt];
      const customers = ms.filter((m) => !m.inlet);
      const inlets = ms.filter((m) => m.inlet);
      const hours = (w.to - w.from) / HOUR;
      const litres = (a: RegisterAt, b: RegisterAt) => (a.litres === null || b.litres === null ? null : b.litres - a.litres);
      const covered = customers.filter((m) => covers(...(regs(m.id).slice(0, 2) as [RegisterAt, RegisterAt]))).length;
      const pending = ms.filter((m) => {
        const [a, b] = regs(m.id);
        return a.beforeTs !== null && b.afterTs === null;
      }).map((m) => m.id);
      const customerNightFlowLph = customers.reduce((sum, m) => sum + (litres(...(regs(m.id).slice(0, 2) as [RegisterAt, RegisterAt])) ?? 0), 0) / hours;
      // The inlet's lowest interval flow; the window's mean flow when no two readings fall inside it.
      const perInlet = inlets.map((m) => {
        const [a, b] = regs(m.id);
        const v = litres(a, b);
        return minimum.get(`${w.date}|${m.id}`) ?? (v === null || !covers(a, b) ? null : v / hours);
      });
      const inletMinFlowLph = inlets.length > 0 && perInlet.every((x) => x !== null) ? perInlet.reduce((x, y) => x! + y!, 0)! : null;
      const legitimateUseLph = (customerNightFlowLph * s.legitimateUsePct) / 100;
      const mnfLph = inletMinFlowLph === null ? null : inletMinFlowLph - legitimateUseLph;
      const day = inlets.map((m) => litres(regs(m.id)[2], regs(m.id)[3]));
      const averageDailyFlowLph = inlets.length > 0 && day.every((x) => x !== null) ? day.reduce((x, y) => x! + y!, 0)! / 24 : null;
      const inletCovered = inlets.length > 0 && inlets.every((m) => covers(regs(m.id)[0], regs(m.id)[1]));
      return {
        dma, date: w.date, from: w.from, to: w.to,
        connections: customers.length, covered, coveragePct: customers.length ? round1((covered / customers.length) * 100) : 0, pending,
        inletMinFlowLph: inletMinFlowLph === null ? null : round1(inletMinFlowLph),
        customerNightFlowLph: round1(customerNightFlowLph),
        legitimateUseLph: round1(legitimateUseLph),
        mnfLph: mnfLph === null ? null : round1(mnfLph),
        mnfPerConnectionLph: mnfLph === null || customers.length === 0 ? null : Math.round((mnfLph / customers.length) * 1000) / 1000,
        averageDailyFlowLph: averageDailyFlowLph === null ? null : round1(averageDailyFlowLph),
        mnfShareOfAdfPct: mnfLph === null || !averageDailyFlowLph ? null : round1((mnfLph / averageDailyFlowLph) * 100),
        complete: pending.length === 0 && inletCovered,
      };
    }
  }
}
