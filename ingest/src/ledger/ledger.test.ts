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
