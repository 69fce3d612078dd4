import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SimulatorError } from '../errors.js';

/** "30m", "2h", "+1h30m", "90s", "1d": an offset from the scenario's t0. */
const OFFSET = /^\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export function parseOffset(text: string): number | undefined {
  const m = OFFSET.exec(text.trim());
  if (!m || text.trim().replace('+', '') === '') return undefined;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as [number, number, number, number];
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

const offset = z.string().refine((s) => parseOffset(s) !== undefined, { message: 'must be an offset like "30m", "2h", "+20h", "1d2h"' });
const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes');

const site = z.strictObject({
  /** Device id of the site's base-station power plant. */
  id,
  site: id,
  district: id,
  island: id.optional(),
  battery: z.enum(['vrla', 'li-ion']).default('vrla'),
  capacityAh: z.number().positive().max(5000).optional(),
  sohPct: z.number().min(50).max(100).optional(),
  baseLoadA: z.number().positive().max(200).optional(),
  targetHours: z.number().positive().max(240).default(24),
  priority: z.string().max(40).optional(),
  generator: z.boolean().default(false),
  fuelPct: z.number().min(0).max(100).optional(),
  generatorTankHours: z.number().positive().max(240).default(24),
  /** Shelter temperature, °C (default 25): a cold island hut in winter gives less battery. */
  ambientC: z.number().min(-30).max(50).optional(),
  /** The controller's own estimate is off by this share, % (a controller set up with the wrong battery). */
  controllerBiasPct: z.number().min(-90).max(500).optional(),
  location: z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]).optional(),
});

const step = <A extends string, S extends z.ZodRawShape>(action: A, shape: S) => z.strictObject({ at: offset, action: z.literal(action), note: z.string().max(200).optional(), ...shape });

const timelineStep = z.discriminatedUnion('action', [
  step('grid-lost', { districts: z.array(id).min(1) }),
  step('grid-restored', { districts: z.array(id).min(1) }),
  step('generator-fails', { site: id }),
  step('segments-cut', { segments: z.array(z.string().min(1)).min(1) }),
  step('segments-restored', { segments: z.array(z.string().min(1)).min(1) }),
  /** A terminal board fault on one segment at one island's node: main signal lost, supervisory up. */
  step('board-fault', { segment: z.string().min(1), island: id }),
  step('board-repaired', { segment: z.string().min(1), island: id }),
  /** The sites' own backhaul is cut (their messages stop; they buffer and replay once it is back). */
  step('backhaul-cut', { sites: z.array(id).min(1) }),
  step('backhaul-restored', { sites: z.array(id).min(1) }),
]);

export const scenarioSchema = z.strictObject({
  name: id,
  description: z.string().max(2000).optional(),
  /** t0 as an ISO date-time; default: the wall clock when the run starts. */
  start: z.iso.datetime({ offset: true }).optional(),
  duration: offset,
  /**
   * Time on mains before t0, so the ingest knows each site (its load through the day) when the scenario
   * strikes, as it would in service. The timeline and duration count from t0. Default none.
   */
  warmup: offset.optional(),
  sampleSec: z.strictObject({ 'bs-power': z.number().int().min(1).max(3600).default(300), 'ring-node': z.number().int().min(1).max(3600).default(300) }).default({ 'bs-power': 300, 'ring-node': 300 }),
  /** Ring nodes: one per island of the default Izu ring (all of them unless listed). */
  ringIslands: z.array(id).optional(),
  sites: z.array(site).max(500).default([]),
  timeline: z.array(timelineStep).min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioSite = Scenario['sites'][number];
export type TimelineStep = Scenario['timeline'][number];

export class ScenarioError extends SimulatorError {
  override readonly name: string = 'ScenarioError';
  constructor(message: string) {
    super('SIM_ERR_SCENARIO', message);
  }
}

const path = (p: ReadonlyArray<PropertyKey>) => (p.length === 0 ? '(root)' : p.map(String).join('.'));

/** Validates a parsed scenario; every problem names its field, e.g. `timeline.2.at: must be an offset …`. */
export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(value);
  if (!result.success) throw new ScenarioError(result.error.issues.map((i) => `${source}: ${path(i.path)}: ${i.message}`).join('\n'));
  const s = result.data;
  const siteIds = new Set(s.sites.map((x) => x.id));
  if (siteIds.size !== s.sites.length) throw new ScenarioError(`${source}: sites: duplicate site ids`);
  const districts = new Set(s.sites.map((x) => x.district));
  s.timeline.forEach((t, i) => {
    if (t.action === 'generator-fails') {
      const target = s.sites.find((x) => x.id === t.site);
      if (!target) throw new ScenarioError(`${source}: timeline.${i}.site: no site "${t.site}" in sites`);
      if (!target.generator) throw new ScenarioError(`${source}: timeline.${i}.site: site "${t.site}" has no generator (generator: true)`);
    }
    if (t.action === 'backhaul-cut' || t.action === 'backhaul-restored') {
      const unknown = t.sites.filter((x) => !siteIds.has(x));
      if (unknown.length > 0) throw new ScenarioError(`${source}: timeline.${i}.sites: no site ${unknown.join(', ')} in sites`);
    }
    if (t.action === 'grid-lost' || t.action === 'grid-restored') {
      const unknown = t.districts.filter((d) => !districts.has(d));
      if (unknown.length > 0) throw new ScenarioError(`${source}: timeline.${i}.districts: no site in ${unknown.join(', ')}`);
    }
  });
  return s;
}

/** Reads a scenario file: YAML (.yaml/.yml) or JSON. */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseScenario(value, file);
}
