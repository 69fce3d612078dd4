/** A set of non-negative integers kept as sorted, disjoint, non-adjacent inclusive ranges [from, to]. */
export type Range = [from: number, to: number];

/**
 * Kept flat, `[from0, to0, from1, to1, …]` in one array of exactly its length: the ledger holds one set per
 * device and boot, and a city's 130,000 meters as an array of [from, to] arrays (its backing store grown
 * for 16 more) were ~40 MB of heap; flat, a boot received in order is one array of two numbers.
 */
export class RangeSet {
  private bounds: number[];

  /** From persisted ranges: sorted and merged, so any order or overlap is accepted. */
  constructor(ranges: readonly Range[] = []) {
    const sorted = ranges.map(([a, b]): Range => [a, b]).sort((x, y) => x[0] - y[0]);
    const merged: Range[] = [];
    for (const r of sorted) {
      const last = merged.at(-1);
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push(r);
    }
    this.bounds = new Array<number>(merged.length * 2);
    merged.forEach(([a, b], i) => {
      this.bounds[2 * i] = a;
      this.bounds[2 * i + 1] = b;
    });
  }

  /** Index (in ranges) of the last range with from <= n, or -1. */
  private find(n: number): number {
    let lo = 0;
    let hi = this.bounds.length / 2 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[2 * mid]! <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  has(n: number): boolean {
    const i = this.find(n);
    return i >= 0 && this.bounds[2 * i + 1]! >= n;
  }

  /** Adds `n`; false if it was already there. O(log n) for the usual in-order case. */
  add(n: number): boolean {
    const b = this.bounds;
    const i = this.find(n);
    if (i >= 0 && b[2 * i + 1]! >= n) return false;
    const ranges = b.length / 2;
    const joinsLeft = i >= 0 && b[2 * i + 1] === n - 1;
    const joinsRight = i + 1 < ranges && b[2 * (i + 1)] === n + 1;
    if (joinsLeft && joinsRight) {
      b[2 * i + 1] = b[2 * (i + 1) + 1]!;
      b.splice(2 * (i + 1), 2);
    } else if (joinsLeft) b[2 * i + 1] = n;
    else if (joinsRight) b[2 * (i + 1)] = n;
    else if (ranges === 0) this.bounds = [n, n];
    else b.splice(2 * (i + 1), 0, n, n);
    return true;
  }

  /** The ranges, copied. */
  toArray(): Range[] {
    const out: Range[] = [];
    for (let k = 0; k < this.bounds.length; k += 2) out.push([this.bounds[k]!, this.bounds[k + 1]!]);
    return out;
  }

  /** Ranges missing between 0 and the highest number present (contract v1: seq starts at 0 every boot). */
  gaps(): Range[] {
    const out: Range[] = [];
    let next = 0;
    for (let k = 0; k < this.bounds.length; k += 2) {
      const from = this.bounds[k]!;
      if (from > next) out.push([next, from - 1]);
      next = this.bounds[k + 1]! + 1;
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (let k = 0; k < this.bounds.length; k += 2) n += this.bounds[k + 1]! - this.bounds[k]! + 1;
    return n;
  }

  get max(): number | undefined {
    return this.bounds.at(-1);
  }
}
