import { describe, expect, it } from 'vitest';
import { FloodDetector } from './flood.js';

const MIN = 60_000;

describe('FloodDetector (ISA-18.2 alarm flood)', () => {
  it('floods at the threshold within the window, and ends below half of it', () => {
    const f = new FloodDetector(10, 10 * MIN);
    const t0 = 1_000_000_000_000;
    for (let i = 0; i < 9; i++) expect(f.recordRaise('water', t0 + i * MIN)).toBe(false);
    expect(f.recordRaise('water', t0 + 9 * MIN)).toBe(true); // the tenth within 10 min
    expect(f.isFlooding('disaster')).toBe(false); // groups are apart
    // At t0 + 14 min the raises at t0 … t0+4 min have left the window (a raise exactly 10 min old is out): 5 left.
    expect(f.countInWindow('water', t0 + 14 * MIN)).toBe(5);
    expect(f.settle(t0 + 14 * MIN)).toEqual([]); // 5 is not below half of 10
    expect(f.settle(t0 + 15 * MIN)).toEqual(['water']); // 4 left
    expect(f.isFlooding('water')).toBe(false);
  });

  it('counts a raise stamped earlier than the last (a clock that stepped back) in its place', () => {
    const f = new FloodDetector(100, 10 * MIN);
    const t0 = 1_000_000_000_000;
    f.recordRaise('field', t0 + 5 * MIN);
    f.recordRaise('field', t0); // leaves the window first
    f.recordRaise('field', t0 + 7 * MIN);
    expect(f.countInWindow('field', t0 + 10 * MIN)).toBe(2);
    expect(f.countInWindow('field', t0 + 15 * MIN)).toBe(1);
    expect(f.countInWindow('field', t0 + 17 * MIN)).toBe(0);
  });

  it('130,000 meters silent in one tick: every raise counted, the flood starts at the threshold', () => {
    const f = new FloodDetector(50, 10 * MIN);
    const now = 1_000_000_000_000;
    let firstFlooded = -1;
    for (let i = 0; i < 130_000; i++) if (f.recordRaise('water', now) && firstFlooded < 0) firstFlooded = i;
    expect(firstFlooded).toBe(49);
    expect(f.countInWindow('water', now + 10 * MIN - 1)).toBe(130_000);
    expect(f.countInWindow('water', now + 10 * MIN)).toBe(0);
  });

  it('agrees with counting by hand over random raises and questions', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const window = 10 * MIN;
    const f = new FloodDetector(1_000_000, window);
    const seen: number[] = [];
    let now = 1_000_000_000_000;
    for (let i = 0; i < 5_000; i++) {
      now += Math.floor(rand() * 20_000);
      const t = rand() < 0.05 ? now - Math.floor(rand() * 60_000) : now; // some stamped a little earlier
      f.recordRaise('water', t);
      seen.push(t);
      if (i % 97 === 0) expect(f.countInWindow('water', now)).toBe(seen.filter((s) => s > now - window).length);
    }
  });
});
