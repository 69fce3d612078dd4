/**
 * The default Izu islands fibre ring (contract v1, "Default ring topology"). The contract ships it as
 * replaceable configuration; this copy is what the simulators use unless given another.
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
};

/** Segments that end at `island`: the ones the island's ring node can see. */
export function segmentsAt(topology: RingTopology, island: string): RingSegmentSpec[] {
  return topology.segments.filter((s) => s.ends.includes(island));
}
