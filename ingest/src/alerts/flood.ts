import type { AlertGroup } from './types.js';

/**
 * ISA-18.2 alarm flood: `threshold` or more alerts raised in one group (one operator's console) within
 * `windowMs`. While a group floods, the engine sends one summary instead of each alert. The flood ends
 * when the count in the window falls below half the threshold (a deadband, so it does not flap).
 */
export class FloodDetector {
  private readonly raises = new Map<AlertGroup, number[]>();
  private readonly flooding = new Set<AlertGroup>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  /** Records one raise; returns whether the group is (now) flooding, this raise included. */
  recordRaise(group: AlertGroup, now: number): boolean {
    const times = this.prune(group, now);
    times.push(now);
    if (times.length >= this.threshold) this.flooding.add(group);
    return this.flooding.has(group);
  }

  countInWindow(group: AlertGroup, now: number): number {
    return this.prune(group, now).length;
  }

  isFlooding(group: AlertGroup): boolean {
    return this.flooding.has(group);
  }

  /** Groups whose flood is over at `now`. */
  settle(now: number): AlertGroup[] {
    const ended: AlertGroup[] = [];
    for (const group of this.flooding) {
      if (this.prune(group, now).length < this.threshold / 2) {
        this.flooding.delete(group);
        ended.push(group);
      }
    }
    return ended;
  }

  private prune(group: AlertGroup, now: number): number[] {
    const times = (this.raises.get(group) ?? []).filter((t) => t > now - this.windowMs);
    this.raises.set(group, times);
    return times;
  }
}
