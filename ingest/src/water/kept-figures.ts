/**
 * A DMA's figures per local day, kept once computed (issue 15: "rollups per DMA per day, maintained as
 * batches are stored, revised when late or replayed data lands"). A day's balance or night reads every
 * meter's register at its ends, so a month of a 2,000-meter DMA is 62,000 registers; the readings a day's
 * figure depends on are those within the register reach (`maxGapMs`) of the day, and once they stop
 * changing, so does the figure. The store stamps every change of the water meters' readings with a rising
 * change mark per local day (a batch stored, a rebuild); a kept figure carries the mark it was computed
 * at and serves while no day within reach has changed since, for the same meters and settings. Anything
 * else is computed as before (balance.ts, night-flow.ts) and kept: one definition, one answer, now or
 * cached (kept-figures.test.ts computes both and compares them, with late data in between).
 */
import { createHash } from 'node:crypto';
import type { WaterMeterRef } from './balance.js';

/** A figure of one DMA over [from, to), as kept. */
export interface KeptFigure {
  dma: string;
  from: number;
  to: number;
  /** The meters and settings it was computed for (figureKey). */
  key: string;
  /** The readings' change mark before it was computed. */
  mark: number;
  /** Every register it used was read between two readings: only data out of order can change it. */
  settled: boolean;
  /** The figure, as JSON. */
  value: string;
}

/** Where figures are kept, and the readings' change marks (the embedded store: storage/duckdb/water-figures.ts). */
export interface FigureBook {
  /**
   * The latest change mark of the water meters' readings. Read before a figure is computed: data stored
   * meanwhile has a later mark, so the figure is recomputed next time.
   */
  mark(): Promise<number>;
  /**
   * For each range [lo, hi] (epoch ms), the latest change mark of readings in it, and of readings that
   * came out of order (at or before their meter's latest) (0 when none).
   */
  changedIn(ranges: ReadonlyArray<readonly [number, number]>): Promise<Array<{ any: number; late: number }>>;
  /** Whether figures over [from, to) are kept at all (whole local days; not arbitrary intervals). */
  keeps(from: number, to: number): boolean;
  get(kind: string, dmas: readonly string[], from: number, to: number): Promise<KeptFigure[]>;
  /**
   * Best effort: a figure not kept is computed again next time. Resolves either way: a failure is the
   * book's to log and count (status), never the answer's.
   */
  put(kind: string, figures: readonly KeptFigure[]): Promise<void>;
  /** Figures that could not be kept (health: store.waterFigures.book). */
  status(): FigureBookStatus;
}

export interface FigureBookStatus {
  /** Saves of computed figures that failed since start (the figures are computed again when next asked). */
  failedSaves: number;
  lastFailedSave?: { at: number; kind: string; figures: number; reason: string };
}

/**
 * The book as one pass over many DMAs sees it (the keeper's): the readings' change mark and each range's
 * changes read once, not again for every DMA (they are the same for all). Safe: a figure computed later
 * in the pass carries the mark read at its start, so data stored meanwhile has it computed again; a change
 * the pass did not see only delays the keeper to its next pass, and views read the book itself.
 */
export function forOnePass(book: FigureBook): FigureBook {
  let mark: Promise<number> | undefined;
  const changes = new Map<string, { any: number; late: number }>();
  const key = ([lo, hi]: readonly [number, number]) => `${lo}|${hi}`;
  return {
    mark: () => (mark ??= book.mark().catch((err: unknown) => {
      mark = undefined;
      throw err;
    })),
    changedIn: async (ranges) => {
      const missing = [...new Map(ranges.filter((r) => !changes.has(key(r))).map((r) => [key(r), r])).values()];
      if (missing.length > 0) (await book.changedIn(missing)).forEach((c, i) => changes.set(key(missing[i]!), c));
      return ranges.map((r) => changes.get(key(r))!);
    },
    keeps: (from, to) => book.keeps(from, to),
    get: (kind, dmas, from, to) => book.get(kind, dmas, from, to),
    put: (kind, figures) => book.put(kind, figures),
    status: () => book.status(),
  };
}

/** The meters (with their inlet role) and settings a DMA's figure is computed from, as a short digest. */
export function figureKey(meters: readonly WaterMeterRef[], settings: unknown): string {
  const ids = meters.map((m) => `${m.id}${m.inlet ? '*' : ''}`).sort();
  return createHash('sha256').update(JSON.stringify({ settings, ids })).digest('base64url').slice(0, 22);
}

/** A computed figure, and whether every register it used was read between two readings. */
export interface Computed<T> {
  value: T;
  settled: boolean;
}

export interface KeptRequest<T> {
  kind: string;
  groups: ReadonlyMap<string, readonly WaterMeterRef[]>;
  /** The intervals asked for, per DMA the same. */
  intervals: ReadonlyArray<readonly [number, number]>;
  /** How far before and after an interval readings change its figure (the register reach). */
  reachMs: number;
  settings: unknown;
  /** Computes the figures of `meters`' DMAs for the intervals at `indexes` (aligned with them). */
  compute(meters: readonly WaterMeterRef[], indexes: readonly number[]): Promise<Map<string, Array<Computed<T>>>>;
}

/** Each DMA's figures over `intervals`: kept ones that still hold, the rest computed (and kept). */
export async function keptFigures<T>(book: FigureBook | undefined, r: KeptRequest<T>): Promise<Map<string, T[]>> {
  const dmas = [...r.groups.keys()].sort((a, b) => a.localeCompare(b));
  const all = r.intervals.map((_, i) => i);
  const keepable = book ? all.filter((i) => book.keeps(r.intervals[i]![0], r.intervals[i]![1])) : [];
  if (!book || keepable.length === 0 || dmas.length === 0) return valuesOf(await inWeeks(r, [...r.groups.values()].flat(), all));
  const mark = await book.mark();
  const [lo, hi] = [Math.min(...keepable.map((i) => r.intervals[i]![0])), Math.max(...keepable.map((i) => r.intervals[i]![1]))];
  const [stored, changed] = await Promise.all([
    book.get(r.kind, dmas, lo, hi),
    book.changedIn(keepable.map((i) => [r.intervals[i]![0] - r.reachMs, r.intervals[i]![1] + r.reachMs] as const)),
  ]);
  const keys = new Map(dmas.map((dma) => [dma, figureKey(r.groups.get(dma)!, r.settings)]));
  const changedAt = new Map(keepable.map((i, k) => [i, changed[k]!]));
  const found = new Map(stored.map((f) => [`${f.dma}|${f.from}|${f.to}`, f]));
  const out = new Map<string, Array<T | undefined>>(dmas.map((dma) => [dma, r.intervals.map(() => undefined)]));
  const need = new Map<string, number[]>();
  // The intervals any DMA needs, gathered once.
  const needed = new Set<number>();
  for (const dma of dmas) {
    const wanted: number[] = [];
    for (const i of all) {
      const f = found.get(`${dma}|${r.intervals[i]![0]}|${r.intervals[i]![1]}`);
      const changes = changedAt.get(i);
      const holds = f !== undefined && changes !== undefined && f.key === keys.get(dma) && f.mark >= (f.settled ? changes.late : changes.any);
      if (holds) out.get(dma)![i] = JSON.parse(f.value) as T;
      else wanted.push(i);
    }
    if (wanted.length > 0) need.set(dma, wanted);
    for (const i of wanted) needed.add(i);
  }
  if (need.size > 0) {
    const indexes = [...needed].sort((a, b) => a - b);
    const at = new Map(indexes.map((i, k) => [i, k]));
    const computed = await inWeeks(r, [...need.keys()].flatMap((dma) => r.groups.get(dma)!), indexes);
    const fresh: KeptFigure[] = [];
    for (const [dma, wanted] of need) {
      const values = computed.get(dma)!;
      for (const i of wanted) {
        const { value, settled } = values[at.get(i)!]!;
        out.get(dma)![i] = value;
        if (changedAt.has(i)) fresh.push({ dma, from: r.intervals[i]![0], to: r.intervals[i]![1], key: keys.get(dma)!, mark, settled, value: JSON.stringify(value) });
      }
    }
    // Each interval once (an interval asked twice is one row of the book).
    const unique = [...new Map(fresh.map((f) => [`${f.dma}|${f.from}|${f.to}`, f])).values()];
    if (unique.length > 0) await book.put(r.kind, unique);
  }
  return out as Map<string, T[]>;
}

/**
 * At most a week of intervals and about 20,000 meters (whole DMAs) per computation: a month of a
 * 2,000-meter DMA's nights reads ~1.7 M hour rollups in one query, and the city's last nights (the
 * night-flow rule) 130,000 meters' worth, past the API's read limit on a busy machine.
 */
const WEEK = 7;
const METERS_PER_QUERY = 20_000;

async function inWeeks<T>(r: KeptRequest<T>, meters: readonly WaterMeterRef[], indexes: readonly number[]): Promise<Map<string, Array<Computed<T>>>> {
  const out = new Map<string, Array<Computed<T>>>();
  const parts: WaterMeterRef[][] = [];
  for (const group of byDma(meters).values()) {
    const last = parts.at(-1);
    if (last && last.length + group.length <= METERS_PER_QUERY) last.push(...group);
    else parts.push([...group]);
  }
  for (const part of parts) {
    for (let k = 0; k < indexes.length; k += WEEK) {
      for (const [dma, values] of await r.compute(part, indexes.slice(k, k + WEEK))) out.set(dma, [...(out.get(dma) ?? []), ...values]);
    }
  }
  return out;
}

/** The meters of each DMA, DMAs in name order. */
export function byDma(meters: readonly WaterMeterRef[]): Map<string, WaterMeterRef[]> {
  const groups = new Map<string, WaterMeterRef[]>();
  for (const m of [...meters].sort((a, b) => a.dma.localeCompare(b.dma))) {
    const list = groups.get(m.dma);
    if (list) list.push(m);
    else groups.set(m.dma, [m]);
  }
  return groups;
}

const valuesOf = <T>(m: Map<string, Array<Computed<T>>>): Map<string, T[]> => new Map([...m].map(([dma, list]) => [dma, list.map((c) => c.value)]));
