/**
 * One Sparkplug edge node as this host sees it during one of its sessions: the metric definitions and
 * aliases of its NBIRTH and DBIRTHs, the latest value of each mapped metric (report by exception: a
 * value holds until it changes), and its `seq` unwrapped into the ledger's sequence.
 *
 * Ledger numbering: every NBIRTH starts a new boot whose seq 0 is the NBIRTH; each later message of the
 * node with a seq (DBIRTH, NDATA, DDATA, DDEATH) is the next one, modulo 256. The seq wraps 255 → 0, so the
 * unwrapped value is the one nearest to the highest seen (a late message lands below it, a gap above):
 * a lost message is a hole in the ledger, as for any device.
 */
import { RangeSet } from '../../ledger/range-set.js';
import { applyRule, type SparkplugMapping } from './mapping.js';
import type { Metric, Payload } from './payload.js';

/** Persisted per edge node: its boots and the bdSeq of each (to tell a current NDEATH from a stale one). */
export interface NodeRecord {
  /** Oldest first; the last NODE_HISTORY are kept. */
  sessions: Array<{ boot: number; bdSeq: number; bornAt: number }>;
}

export const NODE_HISTORY = 16;

/** The bdSeq metric of an NBIRTH or NDEATH (Sparkplug 3.0: name 'bdSeq', an integer). */
export function bdSeqOf(p: Payload): number | undefined {
  const m = p.metrics.find((x) => x.name === 'bdSeq');
  return typeof m?.value === 'number' && Number.isInteger(m.value) && m.value >= 0 ? m.value : undefined;
}

/** Unwraps an 8-bit seq: the value ≡ offset (mod 256) nearest to `high`; late ones land below it. */
export function unwrap(high: number, offset: number): number {
  const d = (((offset - high) % 256) + 256) % 256;
  if (d === 0) return high;
  if (d < 128) return high + d;
  const back = high + d - 256;
  return back < 0 ? high + d : back;
}

export interface MetricProblems {
  /** Aliases this host never saw defined: the birth was missed, so a rebirth is due. */
  unknownAliases: number;
  /** Mapped metrics whose value could not be turned into the reading (named). */
  unmappable: string[];
}

export class EdgeNodeSession {
  /** Highest ledger seq received; the NBIRTH is 0. */
  high = 0;
  readonly received = new RangeSet([[0, 0]]);
  /** Device id ('' for the node itself) → alias → metric name. */
  private readonly aliases = new Map<string, Map<number, string>>();
  /** Source ('' = node, else device id) → reading → value. */
  private readonly values = new Map<string, Map<string, unknown>>();
  readonly devicesOnline = new Set<string>();

  constructor(
    readonly boot: number,
    readonly bdSeq: number,
    /** The NBIRTH's seq: ledger seq 0. */
    private readonly birthSeq: number,
    private readonly mapping: SparkplugMapping,
  ) {}

  /** The ledger seq of a message with this 8-bit seq (noted as received). */
  place(seq: number): { ledgerSeq: number; gap: [number, number] | null } {
    const ledgerSeq = unwrap(this.high, (((seq - this.birthSeq) % 256) + 256) % 256);
    const gap: [number, number] | null = ledgerSeq > this.high + 1 ? [this.high + 1, ledgerSeq - 1] : null;
    this.received.add(ledgerSeq);
    if (ledgerSeq > this.high) this.high = ledgerSeq;
    return { ledgerSeq, gap };
  }

  /** Still missing in [from, to]? */
  missing(from: number, to: number): number {
    let n = 0;
    for (let s = from; s <= to; s++) if (!this.received.has(s)) n++;
    return n;
  }

  /** A birth (NBIRTH: device '', DBIRTH: the device): defines aliases and sets every value it carries. */
  birth(device: string, metrics: readonly Metric[]): MetricProblems {
    const table = new Map<number, string>();
    for (const m of metrics) if (m.name && m.alias !== undefined) table.set(m.alias, m.name);
    this.aliases.set(device, table);
    this.values.set(device, new Map());
    if (device !== '') this.devicesOnline.add(device);
    return this.update(device, metrics);
  }

  /** A metric's name: its own, or the one its alias was born with (undefined: an alias never defined). */
  nameOf(device: string, m: Metric): string | undefined {
    return m.name ?? (m.alias !== undefined ? this.aliases.get(device)?.get(m.alias) : undefined);
  }

  /** NDATA/DDATA: the changed values (report by exception). */
  update(device: string, metrics: readonly Metric[]): MetricProblems {
    const rules = device === '' ? this.mapping.node : this.mapping.devices[device];
    const problems: MetricProblems = { unknownAliases: 0, unmappable: [] };
    const table = this.aliases.get(device);
    let values = this.values.get(device);
    if (!values) this.values.set(device, (values = new Map()));
    for (const m of metrics) {
      const name = m.name ?? (m.alias !== undefined ? table?.get(m.alias) : undefined);
      if (name === undefined) {
        problems.unknownAliases++;
        continue;
      }
      const rule = rules?.[name];
      if (!rule) continue;
      if (m.isNull || m.value === null || m.value === undefined) {
        // A null value: the reading is unknown now, not its last value.
        values.delete(typeof rule === 'string' ? rule : rule.field);
        continue;
      }
      const r = applyRule(rule, m.value);
      if (r.ok) values.set(r.field, r.value);
      else problems.unmappable.push(r.reason);
    }
    return problems;
  }

  /** DDEATH: the device's metrics are stale; its readings leave the snapshot until its next DBIRTH. */
  deviceDeath(device: string): void {
    this.values.delete(device);
    this.aliases.delete(device);
    this.devicesOnline.delete(device);
  }

  /** The device's readings now: every mapped value known (node first, then its devices). */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const source of ['', ...Object.keys(this.mapping.devices)]) {
      for (const [k, v] of this.values.get(source) ?? []) out[k] = v;
    }
    return out;
  }
}
