import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateJsonSchemas, renderSchemaFile } from '../src/json-schema.js';
import { loadCommittedSchemas, SCHEMA_DIR } from './helpers.js';

const HINT = 'run `npm run contracts:export` and commit firmware-contracts/schema/';

describe('committed schema/ files', () => {
  const generated = generateJsonSchemas();

  it('are exactly the files the export produces (none missing, none stale)', () => {
    const committed = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed, HINT).toEqual(Object.keys(generated).sort());
  });

  it.each(Object.keys(generated))('%s equals a fresh export byte for byte', (file) => {
    const committed = readFileSync(join(SCHEMA_DIR, file), 'utf8');
    expect(committed, `${file} is out of date: ${HINT}`).toBe(renderSchemaFile(generated[file]!));
  });

  it('compile in a strict draft 2020-12 validator', () => {
    expect(loadCommittedSchemas().files).toHaveLength(Object.keys(generated).length);
  });
});
