/**
 * The JSON Schema files of our configuration files (`npm run config:export`), for editors: each is a fresh
 * export of its zod schema, compiles in a strict draft 2020-12 validator, accepts the shipped examples (as
 * the loaders do) and refuses a misspelt field (as the loaders do).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import { parseAgentConfig } from '@tsunagaru/edge-agent';
import { loadAlertRulesFile } from '@tsunagaru/ingest';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SCHEMA_FILES } from '../scripts/config-schema-files.js';

// ajv ships CommonJS with `exports.default`; under NodeNext the default import is the module object.
type AjvClass = typeof Ajv2020Module.default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
const ROOT = join(import.meta.dirname, '..');
const HINT = 'run `npm run config:export` and commit the schema file';

const compile = (path: string) => new Ajv2020({ strict: true, strictTypes: false, allErrors: true }).compile(JSON.parse(readFileSync(join(ROOT, path), 'utf8')));

describe('configuration JSON Schemas', () => {
  it.each(CONFIG_SCHEMA_FILES.map((f) => [f.path, f] as const))('%s is a fresh export and compiles', (path, f) => {
    expect(readFileSync(join(ROOT, path), 'utf8'), `${path} is out of date: ${HINT}`).toBe(`${JSON.stringify(f.generate(), null, 2)}\n`);
    expect(compile(path)).toBeTypeOf('function');
  });

  it('the alert rules: the example passes the schema and the loader; a misspelt rule fails both', () => {
    const validate = compile('ingest/schema/alert-rules.schema.json');
    const example = join(ROOT, 'ingest/examples/alert-rules.yaml');
    expect(validate(parseYaml(readFileSync(example, 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
    expect(loadAlertRulesFile(example).rules['water-leak'].severity).toBe('major');
    expect(validate({ rules: { 'water-leek': { severity: 'major' } } })).toBe(false);
    expect(validate({ water: { burstSharePct: 500 } })).toBe(false);
  });

  it('the agent config: every shipped example passes the schema and the loader; a misspelt field fails both', () => {
    const validate = compile('edge-agent/schema/agent-config.schema.json');
    const dir = join(ROOT, 'edge-agent/examples');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const value = parseYaml(readFileSync(join(dir, file), 'utf8'));
      expect(validate(value), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(parseAgentConfig(value, join(dir, file), {}).device.id).toBe(value.device.id);
      const typo = { ...value, sampling: { ...value.sampling, everySec: 5 } };
      expect(validate(typo), file).toBe(false);
      expect(() => parseAgentConfig(typo, join(dir, file), {}), file).toThrow(/sampling\.everySec: unknown field/);
    }
  });
});
