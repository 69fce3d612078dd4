/**
 * The embedded store's side of the DMAs' kept figures (water/kept-figures.ts): the water meters' readings
 * stamped with a rising change mark per local day, in the transaction that stores them (so a figure never
 * holds past data it did not see), and the figures kept per DMA, kind and day.
 *
 * One writer stores batches one after another, so marks are drawn in commit order: a figure stamped with
 * the latest mark it saw has seen every change with that mark or an earlier one.
 */
import type { DuckDBTimestampValue, DuckDBValue } from '@duckdb/node-api';
import type { DuckDbDatabase, SqlReader } from '../database.js';
import type { FigureBook, KeptFigure } from '../../../water/kept-figures.js';
import { DAY_MS, localDayNumber, localDayStart } from './local-time.js';

export const WATER_FIGURES_DDL: readonly string[] = [
  `CREATE SEQUENCE IF NOT EXISTS water_change_mark`,
  // The latest change of the water meters' readings of each local day (days since 1970-01-01).
  `CREATE TABLE IF NOT EXISTS water_changes (day INTEGER PRIMARY KEY, mark BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS water_figures (kind VARCHAR NOT NULL, dma VARCHAR NOT NULL, from_ms BIGINT NOT NULL, to_ms BIGINT NOT NULL,
     key VARCHAR NOT NULL, mark BIGINT NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (kind, dma, from_ms, to_ms))`,
];

/** The local days of a column of sample times (the samples tables' `ts`). */
export function daysOf(ts: readonly DuckDBValue[]): number[] {
  const days = new Set<number>();
  for (const v of ts) days.add(localDayNumber(Number((v as DuckDBTimestampValue).micros / 1000n)));
  return [...days];
}

/** Marks local `days` changed (inside the transaction that changed them). */
export async function markChanged(tx: { run(sql: string): Promise<unknown> }, days: readonly number[]): Promise<void> {
  if (days.length === 0) return;
  await tx.run(`INSERT INTO water_changes SELECT day, nextval('water_change_mark') FROM (SELECT unnest([${days.map((d) => Math.trunc(d)).join(',')}]::INTEGER[]) AS day)
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark`);
}

export class DuckDbFigureBook implements FigureBook {
  /** `read`: the API's read pool; `write`: a connection of its own (puts never wait behind a batch). */
  constructor(
    private readonly read: SqlReader,
    private readonly write: Pick<DuckDbDatabase, 'run'>,
  ) {}

  async mark(): Promise<number> {
    const [row] = await this.read.all(`SELECT coalesce(max(mark), 0)::BIGINT AS m FROM water_changes`);
    return Number(row?.m ?? 0);
  }

  async changedIn(ranges: ReadonlyArray<readonly [number, number]>): Promise<number[]> {
    if (ranges.length === 0) return [];
    const lo = Math.min(...ranges.map(([a]) => localDayNumber(a)));
    const hi = Math.max(...ranges.map(([, b]) => localDayNumber(b)));
    const rows = await this.read.all(`SELECT day, mark FROM water_changes WHERE day BETWEEN ${lo} AND ${hi}`);
    const marks = new Map(rows.map((r) => [Number(r.day), Number(r.mark)]));
    return ranges.map(([a, b]) => {
      let m = 0;
      for (let d = localDayNumber(a); d <= localDayNumber(b); d++) m = Math.max(m, marks.get(d) ?? 0);
      return m;
    });
  }

  /** Whole local days: what the DMA views and the daily series ask for (not every interval asked once). */
  keeps(from: number, to: number): boolean {
    return to - from === DAY_MS && localDayStart(localDayNumber(from)) === from;
  }

  async get(kind: string, dmas: readonly string[], from: number, to: number): Promise<KeptFigure[]> {
    const rows = await this.read.all(
      `SELECT dma, from_ms, to_ms, key, mark, value FROM water_figures WHERE kind = $1 AND dma IN (SELECT unnest(from_json($2::JSON, '["VARCHAR"]'))) AND from_ms >= $3::BIGINT AND to_ms <= $4::BIGINT`,
      [kind, JSON.stringify(dmas), Math.trunc(from), Math.trunc(to)],
    );
    return rows.map((r) => ({ dma: String(r.dma), from: Number(r.from_ms), to: Number(r.to_ms), key: String(r.key), mark: Number(r.mark), value: String(r.value) }));
  }

  async put(kind: string, figures: readonly KeptFigure[]): Promise<void> {
    if (figures.length === 0) return;
    await this.write.run(
      `INSERT OR REPLACE INTO water_figures SELECT $1, f.dma, f."from", f."to", f.key, f.mark, f.value
       FROM (SELECT unnest(from_json($2::JSON, '[{"dma":"VARCHAR","from":"BIGINT","to":"BIGINT","key":"VARCHAR","mark":"BIGINT","value":"VARCHAR"}]'), recursive := true)) f`,
      [kind, JSON.stringify(figures)],
    );
  }
}
