/**
 * The embedded store's side of the DMAs' kept figures (water/kept-figures.ts): the water meters' readings
 * stamped with a rising change mark per local day, in the transaction that stores them (so a figure never
 * holds past data it did not see), and the figures kept per DMA, kind and day.
 *
 * One writer stores batches one after another, so marks are drawn in commit order: a figure stamped with
 * the latest mark it saw has seen every change with that mark or an earlier one. Readings that come in
 * order (each after its meter's latest) change only figures with a meter read from one side or not at
 * all; a figure whose every register was read between two readings ("settled") changes only with data
 * out of order, so yesterday's figures stay kept while today's readings arrive.
 */
import type { DuckDBTimestampValue, DuckDBValue } from '@duckdb/node-api';
import type { DuckDbDatabase, SqlReader } from '../database.js';
import type { FigureBook, FigureBookStatus, KeptFigure } from '../../../water/kept-figures.js';
import { DAY_MS, localDayNumber, localDayStart } from './local-time.js';

export const WATER_FIGURES_DDL: readonly string[] = [
  `CREATE SEQUENCE IF NOT EXISTS water_change_mark`,
  // The latest change of the water meters' readings of each local day (days since 1970-01-01), and the
  // latest that was not in order: a reading at or before one its meter had already stored.
  `CREATE TABLE IF NOT EXISTS water_changes (day INTEGER PRIMARY KEY, mark BIGINT NOT NULL, late_mark BIGINT NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS water_figures (kind VARCHAR NOT NULL, dma VARCHAR NOT NULL, from_ms BIGINT NOT NULL, to_ms BIGINT NOT NULL,
     key VARCHAR NOT NULL, mark BIGINT NOT NULL, settled BOOLEAN NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (kind, dma, from_ms, to_ms))`,
];

/**
 * The local days of a batch's water readings, and those where a reading came out of order (at or before
 * the latest its meter had stored: late data, a replay). `latest`: each meter's latest reading time so
 * far, updated; a meter not in it counts as out of order (after a restart: figures are computed again
 * once, never served stale).
 */
export function daysOf(deviceIds: readonly DuckDBValue[], ts: readonly DuckDBValue[], latest: Map<string, number>): { days: number[]; lateDays: number[] } {
  const days = new Set<number>();
  const late = new Set<number>();
  for (let i = 0; i < ts.length; i++) {
    const t = Number((ts[i] as DuckDBTimestampValue).micros / 1000n);
    const id = String(deviceIds[i]);
    const day = localDayNumber(t);
    days.add(day);
    const before = latest.get(id);
    if (before === undefined || t <= before) late.add(day);
    if (before === undefined || t > before) latest.set(id, t);
  }
  return { days: [...days], lateDays: [...late] };
}

/** Marks local `days` changed, `lateDays` among them out of order (inside the transaction that changed them). */
export async function markChanged(tx: { run(sql: string): Promise<unknown> }, days: readonly number[], lateDays: readonly number[] = days): Promise<void> {
  if (days.length === 0) return;
  const late = new Set(lateDays);
  const rows = days.map((d) => `(${Math.trunc(d)}, ${late.has(d)})`).join(', ');
  await tx.run(`INSERT INTO water_changes SELECT day, m, CASE WHEN late THEN m ELSE 0 END FROM (SELECT day, late, nextval('water_change_mark') AS m FROM (VALUES ${rows}) v(day, late))
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark, late_mark = greatest(water_changes.late_mark, excluded.late_mark)`);
}

/** How the book tells of a figure it could not keep (the store's log: pino in the ingest). */
export type FigureBookLog = (level: 'warn', event: string, detail: Record<string, unknown>, message: string) => void;

/**
 * Deletes the figures of local days before `day` (ROLLUP_RETENTION_DAYS, with the rollups). The days'
 * change marks stay (a row a day): a figure of a day at the edge is still checked against its neighbours.
 */
export async function deleteFiguresBefore(tx: { run(sql: string): Promise<unknown> }, day: number): Promise<void> {
  await tx.run(`DELETE FROM water_figures WHERE from_ms < ${Math.trunc(localDayStart(day))}`);
}

export class DuckDbFigureBook implements FigureBook {
  private readonly failures: FigureBookStatus = { failedSaves: 0 };

  /** `read`: the API's read pool; `write`: a connection of its own (puts never wait behind a batch). */
  constructor(
    private readonly read: SqlReader,
    private readonly write: Pick<DuckDbDatabase, 'run'>,
    private readonly log: FigureBookLog = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  status(): FigureBookStatus {
    return { ...this.failures, ...(this.failures.lastFailedSave ? { lastFailedSave: { ...this.failures.lastFailedSave } } : {}) };
  }

  async mark(): Promise<number> {
    const [row] = await this.read.all(`SELECT coalesce(max(mark), 0)::BIGINT AS m FROM water_changes`);
    return Number(row?.m ?? 0);
  }

  async changedIn(ranges: ReadonlyArray<readonly [number, number]>): Promise<Array<{ any: number; late: number }>> {
    if (ranges.length === 0) return [];
    const lo = Math.min(...ranges.map(([a]) => localDayNumber(a)));
    const hi = Math.max(...ranges.map(([, b]) => localDayNumber(b)));
    const rows = await this.read.all(`SELECT day, mark, late_mark FROM water_changes WHERE day BETWEEN ${lo} AND ${hi}`);
    const marks = new Map(rows.map((r) => [Number(r.day), { any: Number(r.mark), late: Number(r.late_mark) }]));
    return ranges.map(([a, b]) => {
      const m = { any: 0, late: 0 };
      for (let d = localDayNumber(a); d <= localDayNumber(b); d++) {
        const day = marks.get(d);
        if (day) [m.any, m.late] = [Math.max(m.any, day.any), Math.max(m.late, day.late)];
      }
      return m;
    });
  }

  /** Whole local days: what the DMA views and the daily series ask for (not every interval asked once). */
  keeps(from: number, to: number): boolean {
    return to - from === DAY_MS && localDayStart(localDayNumber(from)) === from;
  }

  async get(kind: string, dmas: readonly string[], from: number, to: number): Promise<KeptFigure[]> {
    const rows = await this.read.all(
      `SELECT dma, from_ms, to_ms, key, mark, settled, value FROM water_figures WHERE kind = $1 AND dma IN (SELECT unnest(from_json($2::JSON, '["VARCHAR"]'))) AND from_ms >= $3::BIGINT AND to_ms <= $4::BIGINT`,
      [kind, JSON.stringify(dmas), Math.trunc(from), Math.trunc(to)],
    );
    return rows.map((r) => ({ dma: String(r.dma), from: Number(r.from_ms), to: Number(r.to_ms), key: String(r.key), mark: Number(r.mark), settled: r.settled === true, value: String(r.value) }));
  }

  /** Saves computed figures; a failure is logged and counted, and the answer is served all the same. */
  async put(kind: string, figures: readonly KeptFigure[]): Promise<void> {
    if (figures.length === 0) return;
    try {
      await this.save(kind, figures);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const dmas = [...new Set(figures.map((f) => f.dma))];
      this.failures.failedSaves++;
      this.failures.lastFailedSave = { at: this.clock(), kind, figures: figures.length, reason };
      const which = dmas.length === 1 ? `DMA ${dmas[0]}` : `${dmas.length} DMAs`;
      this.log('warn', 'water_figures_not_saved', { kind, dmas, figures: figures.length, err: reason }, `${figures.length} daily water ${kind} figures of ${which} could not be saved (${reason}); they were answered, and are computed again when next asked`);
    }
  }

  private async save(kind: string, figures: readonly KeptFigure[]): Promise<void> {
    await this.write.run(
      `INSERT OR REPLACE INTO water_figures SELECT $1, f.dma, f."from", f."to", f.key, f.mark, f.settled, f.value
       FROM (SELECT unnest(from_json($2::JSON, '[{"dma":"VARCHAR","from":"BIGINT","to":"BIGINT","key":"VARCHAR","mark":"BIGINT","settled":"BOOLEAN","value":"VARCHAR"}]'), recursive := true)) f`,
      [kind, JSON.stringify(figures)],
    );
  }
}
