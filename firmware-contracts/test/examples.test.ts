import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, DEVICE_TYPES, parseTopic, validateMessage } from '../src/index.js';
import { schemaFileFor } from '../src/json-schema.js';
import { loadCommittedSchemas, loadExamples, type GoldenExample } from './helpers.js';

const valid = loadExamples('valid');
const invalid = loadExamples('invalid');
const schemas = loadCommittedSchemas();

function schemaFile(ex: GoldenExample): string {
  const t = parseTopic(ex.topic);
  if (!t.ok) throw new Error(`${ex.file}: example topics must be valid (${t.reason}); topic errors are tested in topics.test.ts`);
  return schemaFileFor(t.topic.type, t.topic.channel);
}

describe('golden examples are well-formed', () => {
  it.each([...valid, ...invalid].map((e) => [e.file, e] as const))('%s', (_f, ex) => {
    expect(ex.description).toMatch(/\S/);
    expect(parseTopic(ex.topic).ok).toBe(true);
    if (ex.kind === 'valid') {
      expect(ex.expectErrors).toBeUndefined();
      expect(ex.crossField).toBeUndefined();
    } else {
      expect(ex.expectErrors?.length).toBeGreaterThan(0);
    }
  });
});

describe('valid examples', () => {
  it.each(valid.map((e) => [e.file, e] as const))('%s passes zod and the JSON Schema', (_f, ex) => {
    const r = validateMessage(ex.topic, JSON.stringify(ex.payload));
    expect(r.ok ? [] : r.errors).toEqual([]);
    const js = schemas.validate(schemaFile(ex), ex.payload);
    expect(js.errors).toEqual([]);
    expect(js.valid).toBe(true);
  });
});

describe('invalid examples', () => {
  it.each(invalid.map((e) => [e.file, e] as const))('%s fails with exactly its expectErrors', (_f, ex) => {
    const r = validateMessage(ex.topic, JSON.stringify(ex.payload));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect([...r.errors].sort()).toEqual([...(ex.expectErrors ?? [])].sort());
    expect(r.reason).toBe(r.errors.join('; '));
  });

  it.each(invalid.map((e) => [e.file, e] as const))('%s: the JSON Schema agrees, or the rule is marked crossField', (_f, ex) => {
    const js = schemas.validate(schemaFile(ex), ex.payload);
    // crossField rules span fields or the topic; the JSON Schema alone accepts them by design (README).
    expect(js.valid).toBe(ex.crossField === true);
  });
});

describe('coverage of the golden set', () => {
  const channels = valid.map((e) => {
    const t = parseTopic(e.topic);
    return t.ok ? { ...t.topic, payload: e.payload as Record<string, unknown> } : undefined;
  });
  const has = (pred: (c: NonNullable<(typeof channels)[number]>) => boolean) => channels.some((c) => c !== undefined && pred(c));

  it.each(DEVICE_TYPES.flatMap((type) => (['telemetry', 'event'] as const).map((channel) => [type, channel] as const)))(
    'a valid %s %s example exists',
    (type, channel) => expect(has((c) => c.type === type && c.channel === channel)).toBe(true),
  );
  it.each(COMMAND_NAMES.map((n) => [n]))('a valid %s command exists', (name) =>
    expect(has((c) => c.channel === 'cmd' && c.payload.name === name)).toBe(true),
  );
  it('has birth, death, replayed telemetry, and ok and failed acks', () => {
    expect(has((c) => c.channel === 'state' && c.payload.state === 'online')).toBe(true);
    expect(has((c) => c.channel === 'state' && c.payload.state === 'offline')).toBe(true);
    expect(has((c) => c.channel === 'telemetry' && c.payload.replay === true)).toBe(true);
    expect(has((c) => c.channel === 'cmd/ack' && c.payload.ok === true)).toBe(true);
    expect(has((c) => c.channel === 'cmd/ack' && c.payload.ok === false)).toBe(true);
  });
  it('marks some invalid examples crossField and the rest schema-checkable', () => {
    expect(invalid.filter((e) => e.crossField).length).toBeGreaterThanOrEqual(5);
    expect(invalid.filter((e) => !e.crossField).length).toBeGreaterThanOrEqual(25);
  });
});
