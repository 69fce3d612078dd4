import type { RingNodeSample, RingSegment } from '@tsunagaru/firmware-contracts';
import { StepClock, type DeviceModel, type ModelBase, type ModelEvent, type ModelStep } from './model.js';
import { Drift, Rng, round } from './rng.js';
import { DEFAULT_RING_TOPOLOGY, segmentsAt, type RingTopology } from './ring-topology.js';

/**
 * A scheduled fault on one segment: a cable cut (`down`: no light at either end, main and supervisory
 * alike), a failing amplifier (`degraded`), or a terminal board fault (`board`: this node's receiver loses
 * the main signal while the supervisory channel still sees light; only the node with the fault sees it).
 */
export interface SegmentFault {
  segment: string;
  fromTs: number;
  /** Repaired at; default never. */
  toTs?: number;
  /** Default 'down'. */
  state?: 'down' | 'degraded' | 'board';
}

export interface RingNodeOptions {
  /** The island whose node this is; it reports the segments that end there. */
  island: string;
  /** Default: the contract's Izu ring. */
  topology?: RingTopology;
  faults?: readonly SegmentFault[];
}

export type RingNodeConfig = ModelBase & RingNodeOptions;

interface SegmentState {
  id: string;
  /** Received optical power on a healthy span, dBm: −12 … −18 depending on span length. */
  baseDbm: number;
  drift: Drift;
  state: RingSegment['state'];
  supervisory: 'up' | 'down';
}

/** An optical ring node on one Izu island, reporting its adjacent spans. */
export class RingNodeModel implements DeviceModel<'ring-node'> {
  readonly type = 'ring-node' as const;
  private readonly rng: Rng;
  private readonly clock: StepClock;
  private readonly segments: SegmentState[];

  constructor(private readonly config: RingNodeConfig) {
    this.rng = new Rng(config.seed);
    this.clock = new StepClock(config.sampleSec);
    const adjacent = segmentsAt(config.topology ?? DEFAULT_RING_TOPOLOGY, config.island);
    if (adjacent.length === 0) throw new RangeError(`ring node: island "${config.island}" has no segments in the topology`);
    this.segments = adjacent.map((s) => ({ id: s.id, baseDbm: this.rng.between(-17, -13), drift: new Drift(this.rng, 0.25, 6), state: 'up', supervisory: 'up' }));
  }

  step(ts: number): ModelStep<'ring-node'> {
    const dt = this.clock.advance(ts);
    const events: ModelEvent<'ring-node'>[] = [];
    const segments = this.segments.map((seg): RingSegment => {
      const fault = this.faultAt(seg.id, ts);
      const at = fault?.fromTs !== undefined && fault.fromTs <= ts ? fault.fromTs : ts;
      const state: RingSegment['state'] = fault === undefined ? 'up' : fault.state === 'degraded' ? 'degraded' : 'down';
      // The supervisory channel rides the same fibre: it is lost with a cut, not with a board fault.
      const supervisory = fault?.state === undefined || fault.state === 'down' ? (fault ? 'down' : 'up') : 'up';
      if (state !== seg.state || supervisory !== seg.supervisory) {
        const type = state === 'up' ? 'link_up' : state === 'down' ? 'link_down' : 'link_degraded';
        events.push({ type, ts: state === 'up' ? ts : at, detail: { segment: seg.id, from: seg.state, supervisory } });
        seg.state = state;
        seg.supervisory = supervisory;
      }
      const rx = seg.baseDbm + seg.drift.step(dt) + this.rng.normal(0, 0.05);
      // A cut shows as loss of signal: no received power to report.
      if (state === 'down') return { id: seg.id, state, supervisory };
      return { id: seg.id, state, rxDbm: round(state === 'degraded' ? rx - 9 : rx), supervisory };
    });
    const sample: RingNodeSample = { ts, segments };
    return { sample, events };
  }

  private faultAt(segment: string, ts: number): { state: NonNullable<SegmentFault['state']>; fromTs: number } | undefined {
    const fault = this.config.faults?.find((f) => f.segment === segment && ts >= f.fromTs && (f.toTs === undefined || ts < f.toTs));
    return fault ? { state: fault.state ?? 'down', fromTs: fault.fromTs } : undefined;
  }
}
