import type { RingNodeSample, RingSegment } from '@tsunagaru/firmware-contracts';
import { StepClock, type DeviceModel, type ModelBase, type ModelEvent, type ModelStep } from './model.js';
import { Drift, Rng, round } from './rng.js';
import { DEFAULT_RING_TOPOLOGY, segmentsAt, type RingTopology } from './ring-topology.js';

/** A scheduled fault on one segment: a cable cut (`down`) or a failing amplifier (`degraded`). */
export interface SegmentFault {
  segment: string;
  fromTs: number;
  /** Repaired at; default never. */
  toTs?: number;
  /** Default 'down'. */
  state?: 'down' | 'degraded';
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
    this.segments = adjacent.map((s) => ({ id: s.id, baseDbm: this.rng.between(-17, -13), drift: new Drift(this.rng, 0.25, 6), state: 'up' }));
  }

  step(ts: number): ModelStep<'ring-node'> {
    const dt = this.clock.advance(ts);
    const events: ModelEvent<'ring-node'>[] = [];
    const segments = this.segments.map((seg): RingSegment => {
      const state = this.faultAt(seg.id, ts) ?? 'up';
      if (state !== seg.state) {
        events.push({ type: state === 'up' ? 'link_up' : state === 'down' ? 'link_down' : 'link_degraded', ts, detail: { segment: seg.id, from: seg.state } });
        seg.state = state;
      }
      const rx = seg.baseDbm + seg.drift.step(dt) + this.rng.normal(0, 0.05);
      // A cut shows as loss of signal: no received power to report.
      if (state === 'down') return { id: seg.id, state };
      return { id: seg.id, state, rxDbm: round(state === 'degraded' ? rx - 9 : rx) };
    });
    const sample: RingNodeSample = { ts, segments };
    return { sample, events };
  }

  private faultAt(segment: string, ts: number): SegmentFault['state'] | undefined {
    const fault = this.config.faults?.find((f) => f.segment === segment && ts >= f.fromTs && (f.toTs === undefined || ts < f.toTs));
    return fault ? (fault.state ?? 'down') : undefined;
  }
}
