import { describe, expect, it } from 'vitest';
import { expectAllValid, HOUR, run, SUMMER_MIDNIGHT_JST } from './model-test-helpers.js';
import { RingNodeModel } from './ring-node.js';
import { DEFAULT_RING_TOPOLOGY, segmentsAt } from './ring-topology.js';

const T0 = SUMMER_MIDNIGHT_JST;

describe('RingNodeModel', () => {
  it.each([
    ['oshima', ['oshima-toshima', 'oshima-miyakejima']],
    ['miyakejima', ['mikurajima-miyakejima', 'oshima-miyakejima']],
    ['niijima', ['toshima-niijima', 'niijima-shikinejima']],
  ])('%s reports its adjacent segments, up at −12…−18 dBm, valid for 48 h', (island, expected) => {
    const steps = run(new RingNodeModel({ seed: 1, sampleSec: 30, island }), T0, 48, 30);
    expectAllValid('ring-node', `ring-${island}`, steps);
    for (const { sample } of steps) {
      expect(sample.segments.map((s) => s.id)).toEqual(expected);
      for (const seg of sample.segments) {
        expect(seg.state).toBe('up');
        expect(seg.rxDbm).toBeGreaterThanOrEqual(-18.5);
        expect(seg.rxDbm).toBeLessThanOrEqual(-11.5);
      }
    }
  });

  it('reports a scheduled cut as down without rx power, with link_down and link_up events', () => {
    const faults = [{ segment: 'oshima-toshima', fromTs: T0 + HOUR, toTs: T0 + 3 * HOUR }];
    const steps = run(new RingNodeModel({ seed: 2, sampleSec: 30, island: 'oshima', faults }), T0, 4, 30);
    expectAllValid('ring-node', 'ring-oshima', steps);
    const during = steps.find((s) => s.ts === T0 + 2 * HOUR)?.sample.segments.find((s) => s.id === 'oshima-toshima');
    // A cut takes the supervisory channel too (domain notes): loss of signal on both.
    expect(during).toEqual({ id: 'oshima-toshima', state: 'down', supervisory: 'down' });
    expect(steps.flatMap((s) => s.events.map((e) => `${e.type}@${(e.ts - T0) / HOUR}`))).toEqual(['link_down@1', 'link_up@3']);
  });

  it('a board fault loses the main signal at its own node only, with the supervisory channel still up', () => {
    const faults = [{ segment: 'oshima-toshima', fromTs: T0 + HOUR + 7 * 60_000, toTs: T0 + 3 * HOUR, state: 'board' as const }];
    const steps = run(new RingNodeModel({ seed: 2, sampleSec: 300, island: 'oshima', faults }), T0, 4, 300);
    expectAllValid('ring-node', 'ring-oshima', steps);
    const during = steps.find((s) => s.ts === T0 + 2 * HOUR)?.sample.segments.find((s) => s.id === 'oshima-toshima');
    expect(during).toEqual({ id: 'oshima-toshima', state: 'down', supervisory: 'up' });
    const down = steps.flatMap((s) => s.events).find((e) => e.type === 'link_down')!;
    // The event carries the fault's own time, not the next sample's.
    expect(down).toMatchObject({ ts: T0 + HOUR + 7 * 60_000, detail: { segment: 'oshima-toshima', supervisory: 'up' } });
  });

  it('knows the contract ring: 7 segments, every island on two of them', () => {
    expect(DEFAULT_RING_TOPOLOGY.segments).toHaveLength(7);
    for (const island of DEFAULT_RING_TOPOLOGY.islands) expect(segmentsAt(DEFAULT_RING_TOPOLOGY, island)).toHaveLength(2);
  });

  it('refuses an island that is not on the ring', () => {
    expect(() => new RingNodeModel({ seed: 1, sampleSec: 30, island: 'hachijojima' })).toThrow(/hachijojima/);
  });
});
