import { describe, expect, it } from 'vitest';
import { advantage, median, percentile, spread } from './stats.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const runs = [30, 10, 20];
    expect(median(runs)).toBe(20);
    expect(runs).toEqual([30, 10, 20]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('uses nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('reports the spread of runs relative to their median', () => {
    expect(spread([90, 100, 110])).toBeCloseTo(0.2);
    expect(spread([5])).toBe(0);
  });

  it('expresses a ratio so that above 1 means ahead, for throughput and for latency', () => {
    expect(advantage(200, 100, true)).toBe(2);
    expect(advantage(5, 10, false)).toBe(2);
  });
});
