import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
// Same CJS interop as test/helpers.ts; here the validator is fed freshly generated schemas, not committed files.
import Ajv2020Module from 'ajv/dist/2020.js';
import { BOUNDS, type Bound } from './bounds.js';
import { canonicalize, generateJsonSchemas, renderSchemaFile, schemaFileFor, SCHEMA_ID_BASE } from './json-schema.js';
import { telemetrySchemas } from './telemetry.js';
import { CHANNELS, DEVICE_TYPES, type DeviceType } from './topics.js';
import { validatePayload } from './validate.js';

type AjvClass = typeof Ajv2020Module.default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;

const T0 = 1_775_001_600_000;
const generated = generateJsonSchemas();
const ajv = new Ajv2020({ strict: true, allErrors: true });
for (const [file, schema] of Object.entries(generated)) ajv.addSchema(schema, file);

function jsonSchemaAccepts(file: string, payload: unknown): boolean {
  const fn = ajv.getSchema(file);
  if (!fn) throw new Error(`no schema ${file}`);
  return fn(payload) as boolean;
}

describe('generateJsonSchemas', () => {
  it('produces one file per (type, telemetry|event) plus state, command and command-ack', () => {
    expect(Object.keys(generated).sort()).toEqual(
      [
        ...DEVICE_TYPES.map((t) => `telemetry.${t}.json`),
        ...DEVICE_TYPES.map((t) => `event.${t}.json`),
        'state.json',
        'command.json',
        'command-ack.json',
      ].sort(),
    );
  });

  it('maps every (type, channel) to a generated file', () => {
    for (const type of DEVICE_TYPES) for (const channel of CHANNELS) expect(generated).toHaveProperty([schemaFileFor(type, channel)]);
  });

  it.each(Object.entries(generated))('%s is draft 2020-12 with $id, title and description first', (file, schema) => {
    expect(Object.keys(schema).slice(0, 4)).toEqual(['$schema', '$id', 'title', 'description']);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`${SCHEMA_ID_BASE}${file}`);
    expect(schema.title).toMatch(/^Tsunagaru v1 /);
    expect(schema.description).toMatch(/65536 bytes/);
  });

  it('is deterministic', () => {
    const again = generateJsonSchemas();
    for (const [file, schema] of Object.entries(generated)) expect(renderSchemaFile(again[file]!)).toBe(renderSchemaFile(schema));
  });

  it('keeps declaration order of properties, so the files read like the contract', () => {
    const props = Object.keys((generated['telemetry.bs-power.json']!.properties as Record<string, unknown>) ?? {});
    expect(props).toEqual(['v', 'id', 'boot', 'seq', 'ts', 'replay', 'samples']);
  });
});

describe('canonicalize', () => {
  it('puts header keywords first, sorts other keywords, and leaves property names in order', () => {
    const out = canonicalize({ type: 'object', required: ['b'], properties: { z: { type: 'string', maxLength: 2 }, a: {} }, $schema: 's', title: 't' });
    expect(JSON.stringify(out)).toBe('{"$schema":"s","title":"t","type":"object","properties":{"z":{"type":"string","maxLength":2},"a":{}},"required":["b"]}');
  });

  it('is idempotent on the generated schemas', () => {
    for (const schema of Object.values(generated)) expect(canonicalize(schema)).toEqual(schema);
  });
});

/** Where each bounded reading sits, so it can be probed at, and just past, both ends of its range. */
function probes(): { name: keyof typeof BOUNDS; file: string; payload: (value: number) => unknown; type: DeviceType; channel: 'telemetry' | 'state' }[] {
  const out: ReturnType<typeof probes> = [];
  const base = { v: 1, boot: 1, seq: 1, ts: T0 };
  for (const type of ['smart-pole', 'water-meter', 'bs-power'] as const) {
    const sample = (telemetrySchemas[type].shape.samples.element as unknown as z.ZodObject).shape;
    for (const field of Object.keys(sample).filter((k): k is keyof typeof BOUNDS => k in BOUNDS)) {
      const required = type === 'water-meter' ? { indexL: 0 } : {};
      out.push({
        name: field,
        type,
        channel: 'telemetry',
        file: `telemetry.${type}.json`,
        payload: (value) => ({ ...base, id: 'd1', samples: [{ ts: T0, ...required, [field]: value }] }),
      });
    }
  }
  out.push({
    name: 'rxDbm',
    type: 'ring-node',
    channel: 'telemetry',
    file: 'telemetry.ring-node.json',
    payload: (rxDbm) => ({ ...base, id: 'd1', samples: [{ ts: T0, segments: [{ id: 'oshima-toshima', state: 'up', rxDbm }] }] }),
  });
  out.push({
    name: 'sampleSec',
    type: 'bs-power',
    channel: 'state',
    file: 'state.json',
    payload: (sampleSec) => ({ v: 1, id: 'd1', state: 'online', boot: 1, ts: T0, fw: '1.0.0', model: 'm', sampleSec }),
  });
  return out;
}

describe('zod and the JSON Schema agree on every physical bound', () => {
  const all = probes();

  it('probes every entry of BOUNDS', () => {
    expect(new Set(all.map((p) => p.name))).toEqual(new Set(Object.keys(BOUNDS)));
  });

  it.each(all.map((p) => [p.name, p.type, p] as const))('%s (%s)', (name, type, p) => {
    const b: Bound = BOUNDS[name];
    const step = b.integer ? 1 : 0.001;
    const cases: [number, boolean][] = [
      [b.min, true],
      [b.max, true],
      [b.min - step, false],
      [b.max + step, false],
    ];
    if (b.integer) cases.push([b.min + 0.5, false]);
    for (const [value, ok] of cases) {
      const payload = p.payload(value);
      const zodOk = validatePayload({ type, deviceId: 'd1', channel: p.channel }, payload).ok;
      expect({ value, zod: zodOk, jsonSchema: jsonSchemaAccepts(p.file, payload) }).toEqual({ value, zod: ok, jsonSchema: ok });
    }
  });
});
