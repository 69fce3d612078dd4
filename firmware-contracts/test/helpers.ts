import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// ajv ships CommonJS with `exports.default`; under NodeNext the default import is the module object.
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_DIR = join(PACKAGE_DIR, 'schema');
export const EXAMPLES_DIR = join(PACKAGE_DIR, 'examples');

export interface GoldenExample {
  file: string;
  kind: 'valid' | 'invalid';
  topic: string;
  payload: unknown;
  description: string;
  expectErrors?: string[];
  crossField?: boolean;
}

export function loadExamples(kind: 'valid' | 'invalid'): GoldenExample[] {
  const dir = join(EXAMPLES_DIR, kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file: `${kind}/${file}`, kind, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object) }) as GoldenExample);
}

type AjvClass = typeof Ajv2020Module.default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule.default }).default ??
  addFormatsModule) as typeof addFormatsModule.default;

/** What a firmware team would do: load the committed schema files into a draft 2020-12 validator. */
export function loadCommittedSchemas() {
  // strict: an unknown keyword or a type-less constraint in an exported file is a bug in the export.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort();
  for (const f of files) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as object, f);
  return {
    files,
    validate(file: string, payload: unknown) {
      const fn = ajv.getSchema(file);
      if (!fn) throw new Error(`no committed schema ${file}`);
      const valid = fn(payload) as boolean;
      return { valid, errors: fn.errors ?? [] };
    },
  };
}
