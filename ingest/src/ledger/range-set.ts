/** A set of non-negative integers kept as sorted, disjoint, non-adjacent inclusive ranges [from, to]. */
export type Range = [from: number, to: number];

export class RangeSet {
  private ranges: Range[];

  /** From persisted ranges: sorted and merged, so any order or overlap is accepted. */
  constructor(ranges: readonly Range[] = []) {
    const sorted = ranges.map(([a, b]): Range => [a, b]).sort((x, y) => x[0] - y[0]);
    this.ranges = [];
    for (const r of sorted) {
      const last = this.ranges.at(-1);
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else this.ranges.push(r);
    }
  }

  /** Index of the last range with from <= n, or -1. */
  private find(n: number): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]![0] <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  has(n: number): boolean {
    const i = this.find(n);
    return i >= 0 && this.ranges[i]![1] >= n;
  }

  /** Adds `n`; false if it was already there. O(log n) for the usual in-order case. */
  add(n: number): boolean {
    const i = this.find(n);
    const left = i >= 0 ? this.ranges[i]! : undefined;
    if (left && left[1] >= n) return false;
    const right = this.ranges[i + 1];
    const joinsLeft = left !== undefined && left[1] === n - 1;
    const joinsRight = right !== undefined && right[0] === n + 1;
    if (joinsLeft && joinsRight) {
      left[1] = right[1];
      this.ranges.splice(i + 1, 1);
    } else if (joinsLeft) left[1] = n;
    else if (joinsRight) right[0] = n;
    else this.ranges.splice(i + 1, 0, [n, n]);
    return true;
  }

  /** The ranges, copied. */
  toArray(): Range[] {
    return this.ranges.map(([a, b]) => [a, b]);
  }

  /** Ranges missing between 0 and the highest number present (contract v1: seq starts at 0 every boot). */
  gaps(): Range[] {
    const out: Range[] = [];
    let next = 0;
    for (const [from, to] of this.ranges) {
      if (from > next) out.push([next, from - 1]);
      next = to + 1;
    }
    return out;
  }

  get size(): number {
    return this.ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
  }

  get max(): number | undefined {
    return this.ranges.at(-1)?.[1];
  }
}
