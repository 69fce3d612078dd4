/**
 * Contract commands to a Sparkplug edge node (issue 20): a write of one metric, as Sparkplug 3.0 has a host
 * application command anything ("Commands": NCMD for an edge-node metric, DCMD for a metric of one of its
 * devices, the metric named as in its birth). The mapping file says which metric each command writes:
 *
 *   commands:
 *     generator_test: { device: Generator, metric: Test/Start, type: Boolean, value: true }
 *     set_sample_interval: { metric: Properties/Sample Interval, type: UInt32, value: args.sec }
 *     reboot: { metric: Node Control/Reboot, type: Boolean, value: true }
 *
 * Sparkplug has no command acknowledgement. An edge node confirms a write by reporting the metric at the
 * written value (report by exception: NDATA/DDATA, or a birth); a `Node Control/*` command (reboot,
 * rebirth) by its next NBIRTH. That report is the command's ack; without one the command expires.
 */
import type { Command } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { encodePayload, type Metric } from './payload.js';

/** Sparkplug 3.0 data types a command can write. */
export const COMMAND_METRIC_TYPES = ['Boolean', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'String'] as const;

export const sparkplugCommandSchema = z
  .strictObject({
    /** The Sparkplug device whose metric is written (DCMD); absent: a metric of the edge node (NCMD). */
    device: z.string().min(1).max(128).optional(),
    /** The metric's name, as in the node's NBIRTH or the device's DBIRTH. */
    metric: z.string().min(1).max(256),
    type: z.enum(COMMAND_METRIC_TYPES),
    /** The value written: a literal, or `args.<name>` of the contract command. */
    value: z.union([z.boolean(), z.number().finite(), z.string().max(256)]),
  })
  .superRefine((c, ctx) => {
    const fromArgs = typeof c.value === 'string' && /^args\.[A-Za-z_]\w*$/.test(c.value);
    if (fromArgs) return;
    const ok = c.type === 'Boolean' ? typeof c.value === 'boolean' : c.type === 'String' ? typeof c.value === 'string' : typeof c.value === 'number';
    if (!ok) ctx.addIssue({ code: 'custom', path: ['value'], message: `must be a ${c.type} value or args.<name>, got ${JSON.stringify(c.value)}` });
  });

export type SparkplugCommand = z.infer<typeof sparkplugCommandSchema>;

/** A write sent and waiting for the edge node's report of it. */
export interface PendingWrite {
  cmdId: string;
  /** '' for the edge node's own metric. */
  device: string;
  metric: string;
  value: unknown;
  /** A `Node Control/*` metric: confirmed by the next NBIRTH, not by a report of the value. */
  nodeControl: boolean;
  sentAt: number;
}

const INTEGER_RANGE: Record<string, [number, number]> = {
  Int8: [-128, 127],
  Int16: [-32768, 32767],
  Int32: [-(2 ** 31), 2 ** 31 - 1],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UInt8: [0, 255],
  UInt16: [0, 65535],
  UInt32: [0, 2 ** 32 - 1],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
};

/** The NCMD/DCMD topic and payload for a contract command, or why it cannot be sent. */
export function commandMessage(group: string, edgeNode: string, c: SparkplugCommand, cmd: Command, now: number): { ok: true; topic: string; payload: Buffer; pending: PendingWrite } | { ok: false; reason: string } {
  let value: unknown = c.value;
  if (typeof c.value === 'string' && c.value.startsWith('args.')) {
    value = ((cmd.args ?? {}) as Record<string, unknown>)[c.value.slice('args.'.length)];
    if (value === undefined) return { ok: false, reason: `${cmd.name}: argument ${c.value.slice('args.'.length)} is missing (the mapping writes ${c.metric} = ${c.value})` };
  }
  const range = INTEGER_RANGE[c.type];
  if (range && (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1])) {
    return { ok: false, reason: `${cmd.name}: ${c.metric} is ${c.type}: needs an integer ${range[0]}..${range[1]}, got ${JSON.stringify(value)}` };
  }
  if ((c.type === 'Float' || c.type === 'Double') && (typeof value !== 'number' || !Number.isFinite(value))) return { ok: false, reason: `${cmd.name}: ${c.metric} is ${c.type}: needs a number, got ${JSON.stringify(value)}` };
  if (c.type === 'Boolean' && typeof value !== 'boolean') return { ok: false, reason: `${cmd.name}: ${c.metric} is Boolean, got ${JSON.stringify(value)}` };
  if (c.type === 'String' && typeof value !== 'string') return { ok: false, reason: `${cmd.name}: ${c.metric} is String, got ${JSON.stringify(value)}` };
  const topic = c.device ? `spBv1.0/${group}/DCMD/${edgeNode}/${c.device}` : `spBv1.0/${group}/NCMD/${edgeNode}`;
  const payload = encodePayload({ timestamp: now, metrics: [{ name: c.metric, type: c.type, value: value as never }] });
  return { ok: true, topic, payload, pending: { cmdId: cmd.cmdId, device: c.device ?? '', metric: c.metric, value, nodeControl: !c.device && c.metric.startsWith('Node Control/'), sentAt: now } };
}

/** Writes sent and not yet confirmed, per edge node (at most 64 each: an unconfirmed one expires anyway). */
export class PendingWrites {
  private readonly byNode = new Map<string, PendingWrite[]>();

  add(node: string, p: PendingWrite): void {
    this.byNode.set(node, [...(this.byNode.get(node) ?? []).filter((x) => x.cmdId !== p.cmdId), p].slice(-64));
  }

  /**
   * The writes a report confirms, taken off the list, each with the value reported: a metric of `device`
   * ('' the node) at the written value, or for `Node Control/*` an NBIRTH.
   */
  confirmedBy(node: string, report: { device: string; nbirth: boolean; metrics: readonly Metric[]; nameOf: (m: Metric) => string | undefined }): Array<{ p: PendingWrite; value: unknown }> {
    const waiting = this.byNode.get(node);
    if (!waiting || waiting.length === 0) return [];
    const done: Array<{ p: PendingWrite; value: unknown }> = [];
    for (const p of waiting) {
      if (report.nbirth && p.nodeControl) {
        done.push({ p, value: p.value });
        continue;
      }
      const m = report.metrics.find((x) => confirms(p, report.device, report.nameOf(x), x));
      if (m) done.push({ p, value: m.value });
    }
    if (done.length > 0) this.byNode.set(node, waiting.filter((p) => !done.some((d) => d.p === p)));
    return done;
  }
}

/** Whether a reported metric (its name resolved from the alias) confirms a pending write. */
export function confirms(p: PendingWrite, device: string, name: string | undefined, m: Metric): boolean {
  if (p.nodeControl || p.device !== device || name !== p.metric || m.isNull) return false;
  return m.value === p.value || (typeof m.value === 'number' && typeof p.value === 'number' && Math.abs(m.value - p.value) <= 1e-6 * Math.max(1, Math.abs(p.value)));
}
