import { describe, expect, it } from 'vitest';
import { DEFAULT_RING_TOPOLOGY } from '@tsunagaru/firmware-contracts';
import { ringStatus, type SegmentState } from './ring.js';

const status = (states: Record<string, SegmentState>) => ringStatus(DEFAULT_RING_TOPOLOGY, (id) => states[id]);

describe('ring isolation', () => {
  it('nothing reported or everything up: nothing isolated', () => {
    expect(status({}).isolated).toEqual([]);
    expect(status({ 'oshima-toshima': 'up', 'toshima-niijima': 'degraded' }).isolated).toEqual([]);
  });

  it('one cut anywhere: the ring reroutes, nothing isolated, the cut stays protected', () => {
    for (const seg of DEFAULT_RING_TOPOLOGY.segments) {
      const s = status({ [seg.id]: 'down' });
      expect(s.isolated).toEqual([]);
      expect(s.segments.find((x) => x.id === seg.id)).toMatchObject({ state: 'down', unprotected: false });
    }
  });

  it('two cuts isolate the arc between them that holds no gateway (domain notes example)', () => {
    const s = status({ 'toshima-niijima': 'down', 'kozushima-mikurajima': 'down' });
    expect(s.isolated).toEqual(['niijima', 'shikinejima', 'kozushima']);
    expect(s.segments.filter((x) => x.unprotected).map((x) => x.id)).toEqual(['toshima-niijima', 'kozushima-mikurajima']);
    expect(s.islands.find((i) => i.island === 'toshima')?.reachableGateways).toEqual(['oshima', 'miyakejima']);
  });

  it('cuts on both sides of a gateway leave it reachable through its own upstream', () => {
    expect(status({ 'oshima-toshima': 'down', 'oshima-miyakejima': 'down' }).isolated).toEqual([]);
  });

  it('a gateway whose upstream is down reaches the mainland only through the other gateway', () => {
    expect(status({ 'oshima-mainland': 'down' }).isolated).toEqual([]);
    expect(status({ 'oshima-mainland': 'down', 'oshima-toshima': 'down', 'oshima-miyakejima': 'down' }).isolated).toEqual(['oshima']);
    expect(status({ 'oshima-mainland': 'down', 'miyakejima-mainland': 'down' }).isolated).toHaveLength(7);
  });
});
