/**
 * A Sparkplug mapping file: one edge-node profile (a pump station, a DC plant) → one Tsunagaru device.
 * The edge node's own metrics (NBIRTH/NDATA) and its devices' metrics (DBIRTH/DDATA) are readings of that
 * one device: Sparkplug numbers all of an edge node's messages with one `seq`, and the completeness ledger
 * counts one sequence per device, so one edge node is one device. A provisioned device names its edge
 * node and profile with attributes sparkplugGroup, sparkplugNode and sparkplugProfile.
 */
import { COMMAND_NAMES } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { sparkplugCommandSchema } from './commands.js';
import { loadKeyedMappings } from '../mapping-files.js';
import { MAPPABLE_TYPES, READINGS, type MappableType } from '../shared.js';

const field = z.string().min(1);
/** `rectifierV`, or `{ field: mains, map: { "true": "on", "false": "off" } }`, or `{ field: fuelPct, scale: 100 }`. */
const metricRule = z.union([
  field,
  z.strictObject({
    field,
    scale: z.number().finite().refine((n) => n !== 0, 'must not be 0').optional(),
    /** Metric value (as text: "true", "2") → contract value, for enumerations such as mains on/off. */
    map: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
]);
const metricName = z.string().min(1).max(256);

export const sparkplugMappingSchema = z
  .strictObject({
    /** The name devices use in their attribute sparkplugProfile. */
    profile: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -'),
    type: z.enum(MAPPABLE_TYPES),
    /** For the birth an NBIRTH becomes. */
    model: z.string().min(1).max(64),
    fw: z.string().min(1).max(64).optional(),
    /** How often the edge node reports, in seconds (the birth's sampleSec). */
    sampleSec: z.int().min(1).max(86_400),
    /** Edge-node metric name → reading. */
    node: z.record(metricName, metricRule).default({}),
    /** Sparkplug device id → (metric name → reading). */
    devices: z.record(z.string().min(1).max(128), z.record(metricName, metricRule)).default({}),
    /** Contract command name → the metric it writes (NCMD, or DCMD with `device`); commands.ts. */
    commands: z.partialRecord(z.enum(COMMAND_NAMES), sparkplugCommandSchema).optional(),
  })
  .superRefine((m, ctx) => {
    const allowed = READINGS[m.type as MappableType];
    const check = (path: Array<string>, rule: z.infer<typeof metricRule>) => {
      const name = typeof rule === 'string' ? rule : rule.field;
      if (!allowed.includes(name)) ctx.addIssue({ code: 'custom', path: [...path, ...(typeof rule === 'string' ? [] : ['field'])], message: `${JSON.stringify(name)} is not a ${m.type} reading; one of ${allowed.join(', ')}` });
    };
    for (const [metric, rule] of Object.entries(m.node)) check(['node', metric], rule);
    for (const [device, metrics] of Object.entries(m.devices)) for (const [metric, rule] of Object.entries(metrics)) check(['devices', device, metric], rule);
    const all = [...Object.values(m.node), ...Object.values(m.devices).flatMap((d) => Object.values(d))];
    if (all.length === 0) ctx.addIssue({ code: 'custom', path: ['node'], message: 'map at least one metric' });
    if (m.type === 'water-meter' && !Object.values(m.node).some((r) => (typeof r === 'string' ? r : r.field) === 'indexL')) {
      ctx.addIssue({ code: 'custom', path: ['node'], message: 'a water-meter profile must map indexL from an edge-node metric: every sample carries it (contract v1), from the NBIRTH on' });
    }
  });

export type SparkplugMapping = z.infer<typeof sparkplugMappingSchema>;
export type MetricRule = z.infer<typeof metricRule>;

export function loadSparkplugMappings(dir: string): Map<string, SparkplugMapping> {
  return loadKeyedMappings(sparkplugMappingSchema, dir, 'SPARKPLUG_MAPPINGS_DIR', { field: 'profile', of: (m) => m.profile });
}

/** A metric's value as the contract reading, or why not. */
export function applyRule(rule: MetricRule, value: unknown): { ok: true; field: string; value: unknown } | { ok: false; reason: string } {
  const name = typeof rule === 'string' ? rule : rule.field;
  if (typeof rule === 'string') return { ok: true, field: name, value };
  let v: unknown = value;
  if (rule.map) {
    const key = String(value);
    if (!Object.hasOwn(rule.map, key)) return { ok: false, reason: `${name}: value ${JSON.stringify(value)} is not in its map (${Object.keys(rule.map).join(', ')})` };
    v = rule.map[key];
  }
  if (rule.scale !== undefined) {
    if (typeof v !== 'number') return { ok: false, reason: `${name}: must be a number to scale by ${rule.scale}, got ${JSON.stringify(v)}` };
    v = Math.round(v * rule.scale * 1e9) / 1e9;
  }
  return { ok: true, field: name, value: v };
}
