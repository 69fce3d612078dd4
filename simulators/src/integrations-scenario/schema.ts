/**
 * An integrations scenario (`kind: integrations`, issue 20): LoRaWAN meters reported by ChirpStack v4 and
 * Sparkplug B edge nodes (pump stations, DC plants), with what the radio and the network lose, run against
 * our broker and ingest (ChirpStack and the edge nodes as integration principals) and scored: the ledger's
 * gaps must be exactly the frames and messages the simulators dropped. Errors name the field, as in
 * scenario/schema.ts.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ScenarioError } from '../scenario/schema.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes');
const topicId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, dots, dashes or underscores (an MQTT topic level)');

const chirpstack = z.strictObject({
  /** ChirpStack's application id (its MQTT topics carry it). */
  applicationId: topicId,
  /** Meters wm-lora-0001…, DevEUIs 70b3d5…0001…, profile water-meter-index. */
  meters: z.int().min(1).max(500),
  /** Frames each meter sends, lost ones included. */
  frames: z.int().min(1).max(10_000),
  sampleSec: z.int().min(1).max(86_400).default(900),
  /** Share of frames no gateway heard, 0..1. */
  lossRate: z.number().min(0).max(0.9).default(0),
  /** A meter rejoins (new boot) after this many frames; 0: never. */
  rejoinEvery: z.int().min(0).default(0),
  /** Frames [from, to) of each session arrive after all the others (a gateway cut off, then back). */
  lateBatch: z.strictObject({ from: z.int().min(0), to: z.int().min(1) }).refine((b) => b.to > b.from, { message: 'to must be greater than from', path: ['to'] }).optional(),
  /** A status event (battery, margin) every this many frames; 0: never. */
  statusEvery: z.int().min(0).default(0),
});

const sparkplug = z.strictObject({
  group: topicId,
  /** Edge nodes PS01… (water-meter devices, profile pump-station). */
  pumpStations: z.int().min(0).max(99).default(0),
  /** Edge nodes DC01… (bs-power devices, profile dc-plant). */
  dcPlants: z.int().min(0).max(99).default(0),
  /** Data rounds after the births. */
  rounds: z.int().min(1).max(10_000),
  sampleSec: z.int().min(1).max(3600).default(60),
  /** Lose every n-th data message on the way (over all nodes); 0: none. */
  dropEvery: z.int().min(0).default(0),
});

export const integrationsScenarioSchema = z
  .strictObject({
    kind: z.literal('integrations'),
    name: id,
    description: z.string().max(2000).optional(),
    seed: z.int().min(0).optional(),
    chirpstack: chirpstack.optional(),
    sparkplug: sparkplug.optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.chirpstack && !s.sparkplug) ctx.addIssue({ code: 'custom', path: ['chirpstack'], message: 'give chirpstack, sparkplug or both' });
    if (s.sparkplug && s.sparkplug.pumpStations + s.sparkplug.dcPlants === 0) ctx.addIssue({ code: 'custom', path: ['sparkplug', 'pumpStations'], message: 'give at least one pump station or DC plant' });
    if (s.chirpstack?.lateBatch && s.chirpstack.lateBatch.from >= s.chirpstack.frames) ctx.addIssue({ code: 'custom', path: ['chirpstack', 'lateBatch', 'from'], message: `must be below frames (${s.chirpstack.frames})` });
  });

export type IntegrationsScenario = z.infer<typeof integrationsScenarioSchema>;

const path = (p: ReadonlyArray<PropertyKey>) => (p.length === 0 ? '(root)' : p.map(String).join('.'));

export function parseIntegrationsScenario(value: unknown, source = 'scenario'): IntegrationsScenario {
  const result = integrationsScenarioSchema.safeParse(value);
  if (!result.success) throw new ScenarioError(result.error.issues.map((i) => `${source}: ${path(i.path)}: ${i.message}`).join('\n'));
  return result.data;
}

/** Whether a parsed YAML/JSON document is an integrations scenario (`kind: integrations`). */
export const isIntegrationsScenario = (value: unknown): boolean => typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'integrations';

export async function loadIntegrationsScenario(file: string): Promise<IntegrationsScenario> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new ScenarioError(`${file}: cannot read: ${err.message}`);
  });
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseIntegrationsScenario(value, file);
}
