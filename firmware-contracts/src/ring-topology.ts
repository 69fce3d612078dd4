/**
 * The default Izu islands fibre ring (contract v1, "Default ring topology"). The contract ships it as
 * replaceable configuration; simulators (ring nodes) and the ingest (island isolation) share this copy.
 */
export interface RingSegmentSpec {
  id: string;
  /** The two islands the segment joins. */
  ends: readonly [string, string];
}

export interface RingTopology {
  islands: readonly string[];
  /** Islands linked upstream to the mainland. */
  gateways: readonly string[];
  segments: readonly RingSegmentSpec[];
  /**
   * Per gateway, the segment id its ring node reports for the upstream (mainland) link. The contract is
   * silent on how an upstream failure shows; v1 decides it is a segment like the others (README, Decisions).
   * A gateway without an entry, or whose upstream was never reported, counts as up.
   */
  upstream?: Readonly<Record<string, string>>;
}

const link = (a: string, b: string): RingSegmentSpec => ({ id: `${a}-${b}`, ends: [a, b] });

export const DEFAULT_RING_TOPOLOGY: RingTopology = {
  islands: ['oshima', 'toshima', 'niijima', 'shikinejima', 'kozushima', 'mikurajima', 'miyakejima'],
  gateways: ['oshima', 'miyakejima'],
  segments: [
    link('oshima', 'toshima'),
    link('toshima', 'niijima'),
    link('niijima', 'shikinejima'),
    link('shikinejima', 'kozushima'),
    link('kozushima', 'mikurajima'),
    link('mikurajima', 'miyakejima'),
    // The older direct cable.
    link('oshima', 'miyakejima'),
  ],
  upstream: { oshima: 'oshima-mainland', miyakejima: 'miyakejima-mainland' },
};

/** Segments that end at `island`: the ones the island's ring node can see. */
export function segmentsAt(topology: RingTopology, island: string): RingSegmentSpec[] {
  return topology.segments.filter((s) => s.ends.includes(island));
}
