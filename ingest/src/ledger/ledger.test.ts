import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompletenessLedger } from './ledger.js';
import { RangeSet } from './range-set.js';

describe('range set', () => {
  it('merges neighbours, reports duplicates and the gaps from 0', () => {
    const s = new RangeSet();
    for (const n of [0, 1, 2, 5, 6, 9, 4]) expect(s.add(n)).toBe(true);
    expect(s.add(5)).toBe(false);
    expect(s.toArray()).toEqual([[0, 2], [4, 6], [9, 9]]);
    expect(s.gaps()).toEqual([[3, 3], [7, 8]]);
    s.add(3);
    s.add(7);
    s.add(8);
    expect(s.toArray()).toEqual([[0, 9]]);
    expect(s.gaps()).toEqual([]);
    expect(new RangeSet([[5, 7], [0, 2], [3, 4]]).toArray()).toEqual([[0, 7]]);
    expect(new RangeSet([[2, 3]]).gaps()).toEqual([[0, 1]]);
  });

  it('holds exactly the numbers added, in any order (checked against a plain Set)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(60), { maxLength: 80 }), fc.array(fc.tuple(fc.nat(40), fc.nat(10)), { maxLength: 5 }), (adds, start) => {
        const truth = new Set<number>();
        for (const [from, len] of start) for (let n = from; n <= from + len; n++) truth.add(n);
        const s = new RangeSet(start.map(([from, len]): [number, number] => [from, from + len]));
        for (const n of adds) {
          expect(s.add(n)).toBe(!truth.has(n));
          truth.add(n);
        }
        const sorted = [...truth].sort((a, b) => a - b);
        const ranges: Array<[number, number]> = [];
        for (const n of sorted) {
          const last = ranges.at(-1);
          if (last && last[1] === n - 1) last[1] = n;
          else ranges.push([n, n]);
        }
        expect(s.toArray()).toEqual(ranges);
        expect(s.size).toBe(truth.size);
        expect(s.max).toBe(sorted.at(-1));
        for (let n = 0; n <= 75; n++) expect(s.has(n)).toBe(truth.has(n));
      }),
    );
  });

  it('stays one range for an in-order stream of 100,000', () => {
    const s = new RangeSet();
    for (let n = 0; n < 100_000; n++) s.add(n);
    expect(s.toArray()).toEqual([[0, 99_999]]);
    expect(s.size).toBe(100_000);
  });
});

describe('completeness ledger', () => {
  it('tracks per device and boot; a gap filled by a replay disappears; duplicates are counted', () => {
    const l = new CompletenessLedger();
    for (const seq of [0, 1, 2, 5, 6]) l.record('wm-1', 3, seq, 1000 + seq);
    l.record('wm-1', 4, 0, 2000);
    expect(l.record('wm-1', 3, 2, 1100)).toBe(false);
    expect(l.device('wm-1')).toEqual([
      { boot: 3, received: 5, ranges: [[0, 2], [5, 6]], gaps: [[3, 4]], missing: 2, duplicates: 1, lastMessageAt: 1100, highestSeq: 6 },
      { boot: 4, received: 1, ranges: [[0, 0]], gaps: [], missing: 0, duplicates: 0, lastMessageAt: 2000, highestSeq: 0 },
    ]);
    expect(l.summary()).toEqual([{ deviceId: 'wm-1', boots: 2, received: 6, gaps: 1, missing: 2, duplicates: 1, lastMessageAt: 2000, latestBoot: 4 }]);
    l.record('wm-1', 3, 3, 3000);
    l.record('wm-1', 3, 4, 3001);
    expect(l.device('wm-1')![0]).toMatchObject({ ranges: [[0, 6]], gaps: [], missing: 0 });
    // The ingest's own replay after a restart is not a device duplicate.
    expect(l.record('wm-1', 3, 4, 3002, false)).toBe(false);
    expect(l.device('wm-1')![0]!.duplicates).toBe(1);
  });

  it('keeps every boot of a device apart, however many, in the order of the boots', () => {
    const l = new CompletenessLedger([{ deviceId: 'wm-1', boot: 7, ranges: [[0, 3]], duplicates: 2, lastReceivedAt: 70 }]);
    for (const boot of [9, 8, 7]) l.record('wm-1', boot, 4, 100 + boot);
    expect(l.has('wm-1', 7, 3)).toBe(true);
    expect(l.has('wm-1', 8, 3)).toBe(false);
    expect(l.has('wm-1', 8, 4)).toBe(true);
    expect(l.device('wm-1')!.map((b) => [b.boot, b.received, b.duplicates, b.lastMessageAt])).toEqual([[7, 5, 2, 107], [8, 1, 0, 108], [9, 1, 0, 109]]);
    expect(l.takeDirty().map((r) => r.boot).sort()).toEqual([7, 8, 9]);
    // A failed persist puts them back; an unknown record is ignored.
    l.markDirty([{ deviceId: 'wm-1', boot: 8, ranges: [], duplicates: 0, lastReceivedAt: 0 }, { deviceId: 'nobody', boot: 1, ranges: [], duplicates: 0, lastReceivedAt: 0 }]);
    expect(l.takeDirty()).toEqual([{ deviceId: 'wm-1', boot: 8, ranges: [[4, 4]], duplicates: 0, lastReceivedAt: 108 }]);
  });

  it('hands out only what changed, and survives a round trip through its records', () => {
    const l = new CompletenessLedger();
    l.record('a', 1, 0, 10);
    l.record('b', 1, 0, 10);
    expect(l.takeDirty().map((r) => r.deviceId).sort()).toEqual(['a', 'b']);
    expect(l.takeDirty()).toEqual([]);
    l.record('a', 1, 2, 20);
    const dirty = l.takeDirty();
    expect(dirty).toEqual([{ deviceId: 'a', boot: 1, ranges: [[0, 0], [2, 2]], duplicates: 0, lastReceivedAt: 20 }]);
    const restored = new CompletenessLedger([...dirty, { deviceId: 'b', boot: 1, ranges: [[0, 0]], duplicates: 0, lastReceivedAt: 10 }]);
    expect(restored.summary()).toEqual(l.summary());
    expect(restored.has('a', 1, 2)).toBe(true);
    expect(restored.has('a', 1, 1)).toBe(false);
  });
});
