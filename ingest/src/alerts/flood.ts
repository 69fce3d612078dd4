import type { AlertGroup } from './types.js';

/**
 * ISA-18.2 alarm flood: `threshold` or more alerts raised in one group (one operator's console) within
 * `windowMs`. While a group floods, the engine sends one summary instead of each alert. The flood ends
 * when the count in the window falls below half the threshold (a deadband, so it does not flap).
 */
export class FloodDetector {
  private readonly raises = new Map<AlertGroup, RaiseWindow>();
  private readonly flooding = new Set<AlertGroup>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  /** Records one raise; returns whether the group is (now) flooding, this raise included. */
  recordRaise(group: AlertGroup, now: number): boolean {
    const w = this.prune(group, now);
    w.add(now);
    if (w.count >= this.threshold) this.flooding.add(group);
    return this.flooding.has(group);
  }

  countInWindow(group: AlertGroup, now: number): number {
    return this.prune(group, now).count;
  }

  isFlooding(group: AlertGroup): boolean {
    return this.flooding.has(group);
  }

  /** Groups whose flood is over at `now`. */
  settle(now: number): AlertGroup[] {
    const ended: AlertGroup[] = [];
    for (const group of this.flooding) {
      if (this.prune(group, now).count < this.threshold / 2) {
        this.flooding.delete(group);
        ended.push(group);
      }
    }
    return ended;
  }

  private prune(group: AlertGroup, now: number): RaiseWindow {
    let w = this.raises.get(group);
    if (!w) this.raises.set(group, (w = new RaiseWindow()));
    w.dropUntil(now - this.windowMs);
    return w;
  }
}

/**
 * The raise times of one group in the window, oldest first. Each raise and each question costs O(1)
 * amortised: when 130,000 meters fall silent in one tick (an ingest restarted after an outage), filtering
 * the whole list per raise was quadratic and held the event loop for tens of minutes (health unanswered).
 */
class RaiseWindow {
  private times: number[] = [];
  private head = 0;

  get count(): number {
    return this.times.length - this.head;
  }

  add(t: number): void {
    const last = this.times.length > this.head ? this.times[this.times.length - 1]! : -Infinity;
    if (t >= last) {
      this.times.push(t);
      return;
    }
    // A clock that stepped back: keep the list sorted (binary search for the place).
    let lo = this.head;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    this.times.splice(lo, 0, t);
  }

  /** Forgets raises at or before `cut` (they left the window). */
  dropUntil(cut: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= cut) this.head++;
    if (this.head === this.times.length) {
      this.times = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
