/**
 * A water scenario (`kind: water`): DMAs of households with their inlet meter, meters read every 15 min,
 * hourly, or in LoRaWAN batches (15 readings at 20-minute steps, delivered every ~5 h), network leaks
 * injected at set times, welfare households (one stops using water, one with a running cistern stops too,
 * one with a running cistern lives on, one whose meter dies) and baths that are no burst.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseOffset, ScenarioError } from '../scenario/schema.js';

const offset = z.string().refine((s) => parseOffset(s) !== undefined, { message: 'must be an offset like "30m", "2h", "4d13h"' });
const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'must be lowercase letters, digits and dashes');
/** A household by its number in the DMA (1-based). */
const meterNo = z.number().int().min(1);

const dma = z.strictObject({
  id,
  /** Customer meters (households). */
  meters: z.number().int().min(2).max(2000),
  /** The first this-many households are read hourly (the others every 15 min) … */
  hourlyMeters: z.number().int().min(0).default(0),
  /** … and the last this-many are LoRaWAN meters: 20-minute readings delivered 15 at a time (~5 h late). */
  lateBatchMeters: z.number().int().min(0).default(0),
  /** Background leakage of the DMA's pipes, L/h (many small leaks, always there). */
  backgroundLeakLph: z.number().min(0).max(100_000),
  /** Leaks in the network (a main or a service pipe before the meter), from `at`, until `repairedAt`. */
  leaks: z.array(z.strictObject({ at: offset, lph: z.number().positive().max(100_000), repairedAt: offset.optional() })).default([]),
  /** Households on the welfare watch (見守り); all live alone. */
  welfare: z.array(z.strictObject({
    meter: meterNo,
    /** The resident stops using water at this time (the notice must come). */
    vacantAt: offset.optional(),
    /** A running cistern or dripping tap, L/h, all along (no sign of life). */
    dripLph: z.number().positive().max(60).optional(),
    /** The meter's battery dies at this time: it falls silent (a welfare concern itself). */
    silentAt: offset.optional(),
  })).default([]),
  /** A bath (≈ 500 L/h for 30 min) at a household: heavy use, no burst. */
  baths: z.array(z.strictObject({ meter: meterNo, at: offset, lph: z.number().positive().max(2000).default(500), minutes: z.number().positive().max(120).default(30) })).default([]),
});

export const waterScenarioSchema = z.strictObject({
  kind: z.literal('water'),
  name: id,
  description: z.string().max(2000).optional(),
  /** t0, an ISO date-time (local midnight is easiest to read). */
  start: z.iso.datetime({ offset: true }),
  duration: offset,
  /** Simulated time after the end in which late meters still deliver (the scoring waits for it). Default 6h. */
  tail: offset.default('6h'),
  dmas: z.array(dma).min(1).max(20),
});

export type WaterScenario = z.infer<typeof waterScenarioSchema>;
export type WaterScenarioDma = WaterScenario['dmas'][number];

const path = (p: ReadonlyArray<PropertyKey>) => (p.length === 0 ? '(root)' : p.map(String).join('.'));

export function parseWaterScenario(value: unknown, source = 'scenario'): WaterScenario {
  const result = waterScenarioSchema.safeParse(value);
  if (!result.success) throw new ScenarioError(result.error.issues.map((i) => `${source}: ${path(i.path)}: ${i.message}`).join('\n'));
  const s = result.data;
  s.dmas.forEach((d, i) => {
    if (d.hourlyMeters + d.lateBatchMeters > d.meters) throw new ScenarioError(`${source}: dmas.${i}: hourlyMeters + lateBatchMeters must not exceed meters (${d.meters})`);
    const check = (what: string, list: ReadonlyArray<{ meter: number }>) =>
      list.forEach((x, j) => {
        if (x.meter > d.meters) throw new ScenarioError(`${source}: dmas.${i}.${what}.${j}.meter: DMA ${d.id} has ${d.meters} meters`);
      });
    check('welfare', d.welfare);
    check('baths', d.baths);
  });
  return s;
}

/** Whether a parsed YAML/JSON document is a water scenario (`kind: water`). */
export const isWaterScenario = (value: unknown): boolean => typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'water';

export async function loadWaterScenario(file: string): Promise<WaterScenario> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new ScenarioError(`${file}: cannot read: ${err.message}`);
  });
  return parseWaterScenario(file.endsWith('.json') ? JSON.parse(text) : parseYaml(text), file);
}
