import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configJsonSchema, envVar, parseConfig, parseEnv } from './config.js';

const schema = z.strictObject({
  water: z.strictObject({ burstSharePct: z.number().min(1).max(100).default(10), night: z.strictObject({ startHour: z.number().int().default(2) }).prefault({}) }).prefault({}),
  severity: z.enum(['critical', 'major']).default('major'),
  url: z.string().regex(/^https?:\/\//, { error: 'must be an http:// or https:// URL' }).optional(),
  pairs: z.array(z.tuple([z.number(), z.number()])).optional(),
  mode: z.discriminatedUnion('transport', [z.strictObject({ transport: z.literal('tcp'), host: z.string() }), z.strictObject({ transport: z.literal('rtu'), path: z.string() })]).optional(),
});

const problems = (input: unknown) => {
  const r = parseConfig(schema, input);
  return r.ok ? [] : r.problems;
};

describe('config problems', () => {
  it('fills defaults at every depth and freezes the result', () => {
    const r = parseConfig(schema, {});
    expect(r).toEqual({ ok: true, value: { water: { burstSharePct: 10, night: { startHour: 2 } }, severity: 'major' } });
    expect(r.ok && Object.isFrozen(r.value.water.night)).toBe(true);
  });

  it('names each field by its path, says what it must be and what it was', () => {
    expect(problems({ water: { burstSharePct: 500 } })).toEqual(['water.burstSharePct: must be ≤ 100, got 500']);
    expect(problems({ water: { burstSharePct: '5' } })).toEqual(['water.burstSharePct: must be a number, got "5"']);
    expect(problems({ water: { night: { startHour: 2.5 } } })).toEqual(['water.night.startHour: must be an integer, got 2.5']);
    expect(problems({ severity: 'huge' })).toEqual(['severity: must be one of critical, major, got "huge"']);
    expect(problems({ url: 'ftp://x' })).toEqual(['url: must be an http:// or https:// URL, got "ftp://x"']);
    expect(problems({ pairs: [[1]] })).toEqual(['pairs[0]: must have at least 2 entries, got [1]']);
    expect(problems({ mode: { transport: 'serial' } })).toEqual(['mode.transport: must be one of tcp, rtu, got "serial"']);
    expect(problems({ mode: { transport: 'rtu' } })).toEqual(['mode.path: is required']);
  });

  it('lists every unknown field with the known ones (usually a typo), and every problem at once', () => {
    expect(problems({ watr: {}, water: { burstShare: 5, burstSharePct: 0 } })).toEqual([
      'water.burstSharePct: must be ≥ 1, got 0',
      'water.burstShare: unknown field; expected one of burstSharePct, night',
      'watr: unknown field; expected one of water, severity, url, pairs, mode',
    ]);
  });

  it('exports the input side as JSON Schema for editors, with the defaults', () => {
    const json = configJsonSchema(schema, { id: 'https://x.example/c.json', title: 'C', description: 'test' });
    expect(json).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://x.example/c.json', title: 'C', type: 'object', additionalProperties: false });
    expect((json.properties as Record<string, { default?: unknown }>).severity!.default).toBe('major');
  });
});

describe('environment variables', () => {
  const env = { PORT: envVar.int({ max: 65_535, message: 'must be a port number 0-65535' }).optional(), DIR: envVar.text().optional(), ALERTS: envVar.flag().optional(), MQTTS: envVar.intOr('off', { max: 65_535, message: 'must be a port or off' }).optional() };

  it('treats an empty variable as unset in every process, and a blank one as a mistake', () => {
    expect(parseEnv(env, { PORT: '', DIR: '' })).toEqual({ ok: true, value: {} });
    expect(parseEnv(env, { DIR: ' ' })).toEqual({ ok: false, problems: ['DIR: must not be blank, got " "'] });
  });

  it('names the variable and quotes what it was given', () => {
    expect(parseEnv(env, { PORT: 'eighty', ALERTS: 'yes', MQTTS: 'on' })).toEqual({
      ok: false,
      problems: ['PORT: must be a port number 0-65535, got "eighty"', 'ALERTS: must be on or off, got "yes"', 'MQTTS: must be a port or off, got "on"'],
    });
    expect(parseEnv(env, { PORT: '70000' })).toEqual({ ok: false, problems: ['PORT: must be at most 65535, got "70000"'] });
    expect(parseEnv(env, { PORT: '8080', ALERTS: 'off', MQTTS: 'off' })).toEqual({ ok: true, value: { PORT: 8080, ALERTS: false, MQTTS: 'off' } });
  });
});
