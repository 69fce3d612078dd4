import type { RingTopology } from '@tsunagaru/firmware-contracts';

/** The contract's topology, or one loaded from the rules file (segment ends as a plain array). */
export type TopologyLike = Omit<RingTopology, 'segments'> & { segments: ReadonlyArray<{ id: string; ends: readonly string[] }> };

export type SegmentState = 'up' | 'down' | 'degraded';

export interface SegmentStatus {
  id: string;
  ends: readonly string[];
  /** `unknown` until a ring node reported it; counted as carrying traffic (no false isolation alarms). */
  state: SegmentState | 'unknown';
  /** Down, and one of its ends is isolated: the ring no longer protects this cut. */
  unprotected: boolean;
}

export interface IslandStatus {
  island: string;
  gateway: boolean;
  isolated: boolean;
  /** Gateways (with their upstream up) this island reaches over segments that are not down. */
  reachableGateways: string[];
}

export interface RingStatus {
  segments: SegmentStatus[];
  upstream: Array<{ gateway: string; segment: string | null; state: SegmentState | 'unknown' }>;
  islands: IslandStatus[];
  isolated: string[];
}

/**
 * Island isolation over the configured ring (contract v1, "Default ring topology"): an island is isolated
 * when no path of segments that are not `down` joins it to a gateway that still has its upstream link.
 * Reasoned as a graph: drop the failed segments, breadth-first search from each live gateway.
 */
export function ringStatus(topology: TopologyLike, stateOf: (segmentId: string) => SegmentState | undefined): RingStatus {
  const adjacency = new Map<string, string[]>(topology.islands.map((i) => [i, []]));
  for (const s of topology.segments) {
    if (stateOf(s.id) === 'down') continue;
    const [a, b] = s.ends;
    if (a === undefined || b === undefined) continue;
    adjacency.get(a)?.push(b);
    adjacency.get(b)?.push(a);
  }
  const upstream = topology.gateways.map((gateway) => {
    const segment = topology.upstream?.[gateway] ?? null;
    return { gateway, segment, state: (segment ? stateOf(segment) : undefined) ?? ('unknown' as const) };
  });
  const reach = new Map<string, string[]>(topology.islands.map((i) => [i, []]));
  for (const { gateway, state } of upstream) {
    if (state === 'down') continue;
    const seen = new Set([gateway]);
    const queue = [gateway];
    while (queue.length > 0) {
      const island = queue.shift()!;
      reach.get(island)?.push(gateway);
      for (const next of adjacency.get(island) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
  }
  const islands = topology.islands.map((island) => {
    const reachableGateways = reach.get(island) ?? [];
    return { island, gateway: topology.gateways.includes(island), isolated: reachableGateways.length === 0, reachableGateways };
  });
  const isolated = islands.filter((i) => i.isolated).map((i) => i.island);
  const segments = topology.segments.map((s) => {
    const state: SegmentStatus['state'] = stateOf(s.id) ?? 'unknown';
    return { id: s.id, ends: s.ends, state, unprotected: state === 'down' && s.ends.some((e) => isolated.includes(e)) };
  });
  return { segments, upstream, islands, isolated };
}
