/**
 * Pure conversions between ChirpStack and contract v1: an uplink's decoded object → a sample, a contract
 * command → a `command/down` downlink, a downlink (n)ack → a CommandAck. No state, no I/O.
 */
import type { Command } from '@tsunagaru/firmware-contracts';
import { valueAt } from '../shared.js';
import { bestReception, type UpEvent } from './events.js';
import type { ChirpStackMapping, Downlink } from './mapping.js';

export type Converted<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The sample an uplink carries: each mapped reading from its path (scaled if the mapping says so), the
 * uplink's time as the sample time, and the best gateway's RSSI/SNR as link quality (water-meter).
 */
export function sampleFromUplink(up: UpEvent, mapping: ChirpStackMapping, ts: number): Converted<Record<string, unknown>> {
  if (up.object === undefined) {
    return { ok: false, reason: `undecodable: the up event has no decoded object (fPort ${up.fPort ?? 0}); the device profile "${mapping.deviceProfileName}" needs a codec in ChirpStack, or its codec failed (ChirpStack logs UPLINK_CODEC)` };
  }
  const sample: Record<string, unknown> = { ts };
  for (const [field, rule] of Object.entries(mapping.fields)) {
    const from = typeof rule === 'string' ? rule : rule.from;
    const scale = typeof rule === 'string' ? undefined : rule.scale;
    const raw = valueAt(up, from);
    if (raw === undefined || raw === null) {
      // A reading the meter did not send this time is left out; only the contract's required one is a failure.
      if (field === 'indexL') return { ok: false, reason: `mapping "${mapping.deviceProfileName}": ${field} ← ${from}: not in the decoded object (it has ${Object.keys(up.object).slice(0, 20).join(', ') || 'no fields'})` };
      continue;
    }
    if (scale !== undefined) {
      if (typeof raw !== 'number') return { ok: false, reason: `mapping "${mapping.deviceProfileName}": ${field} ← ${from}: must be a number to scale by ${scale}, got ${JSON.stringify(raw).slice(0, 64)}` };
      // Rounded to 1e-9 so 1.2 m³ × 1000 is 1200 L, not 1199.9999999999998.
      const scaled = Math.round(raw * scale * 1e9) / 1e9;
      sample[field] = scaled;
    } else sample[field] = raw;
  }
  if (mapping.type === 'water-meter') Object.assign(sample, linkQuality(up));
  return { ok: true, value: sample };
}

function linkQuality(up: UpEvent): Record<string, number> {
  const { rssiDbm, snrDb } = bestReception(up.rxInfo);
  return { ...(rssiDbm !== undefined ? { rssiDbm } : {}), ...(snrDb !== undefined ? { snrDb } : {}) };
}

/** ChirpStack's DownlinkCommand (integration.proto), as JSON for `application/{app}/device/{devEui}/command/down`. */
export interface DownlinkCommand {
  /** The queue item id ChirpStack echoes as `queueItemId` in the ack event. */
  id: string;
  devEui: string;
  confirmed: boolean;
  fPort: number;
  data?: string;
  object?: Record<string, unknown>;
}

/** `cmd-<uuid>` → `<uuid>`: our command id carries the queue item id, so an ack names its command without state. */
export const queueItemIdOf = (cmdId: string): string | undefined => /^cmd-([0-9a-f-]{36})$/.exec(cmdId)?.[1];
export const cmdIdOf = (queueItemId: string): string => `cmd-${queueItemId}`;

export function downlinkFor(cmd: Command, devEui: string, d: Downlink): Converted<DownlinkCommand> {
  const id = queueItemIdOf(cmd.cmdId);
  if (!id) return { ok: false, reason: `command id ${cmd.cmdId} is not cmd-<uuid>` };
  const args = (cmd.args ?? {}) as Record<string, unknown>;
  const base = { id, devEui, confirmed: d.confirmed, fPort: d.fPort };
  if (d.object) {
    const object = fillArgs(d.object, args);
    return object.ok ? { ok: true, value: { ...base, object: object.value as Record<string, unknown> } } : object;
  }
  const bytes: number[] = [];
  for (const item of d.bytes!) {
    if ('hex' in item) {
      bytes.push(...Buffer.from(item.hex, 'hex'));
      continue;
    }
    const [kind, ref] = Object.entries(item)[0] as [string, number | string];
    const value = typeof ref === 'number' ? ref : args[ref.slice('args.'.length)];
    const width = kind.startsWith('u8') ? 1 : kind.startsWith('u16') ? 2 : 4;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** (8 * width)) {
      return { ok: false, reason: `downlink for ${cmd.name}: ${kind} ${String(ref)} must be an integer 0..${2 ** (8 * width) - 1}, got ${JSON.stringify(value)}` };
    }
    const b = Buffer.alloc(width);
    if (width === 1) b.writeUInt8(value);
    else if (kind === 'u16be') b.writeUInt16BE(value);
    else if (kind === 'u16le') b.writeUInt16LE(value);
    else if (kind === 'u32be') b.writeUInt32BE(value);
    else b.writeUInt32LE(value);
    bytes.push(...b);
  }
  return { ok: true, value: { ...base, data: Buffer.from(bytes).toString('base64') } };
}

/** Replaces every string `$args.<name>` in a downlink object template by the command's argument. */
function fillArgs(template: unknown, args: Record<string, unknown>): Converted<unknown> {
  if (typeof template === 'string' && template.startsWith('$args.')) {
    const name = template.slice('$args.'.length);
    if (!Object.hasOwn(args, name)) return { ok: false, reason: `downlink object needs argument ${name}, which the command does not carry` };
    return { ok: true, value: args[name] };
  }
  if (Array.isArray(template)) {
    const out: unknown[] = [];
    for (const t of template) {
      const v = fillArgs(t, args);
      if (!v.ok) return v;
      out.push(v.value);
    }
    return { ok: true, value: out };
  }
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(template)) {
      const v = fillArgs(t, args);
      if (!v.ok) return v;
      out[k] = v.value;
    }
    return { ok: true, value: out };
  }
  return { ok: true, value: template };
}
