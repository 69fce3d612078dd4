/**
 * Mapping files (YAML or JSON), one per ChirpStack device profile or Sparkplug edge-node profile, read
 * once at start. A wrong file stops the start with a message naming the file and the field, as a wrong
 * alert-rules file does; the ingest never runs with half a mapping.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { IngestError } from '../errors.js';

export class MappingError extends IngestError {
  constructor(message: string) {
    super('INGEST_ERR_CONFIG', message);
  }
}

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Parses one mapping document; errors read "file: field.path: what is wrong". */
export function parseMapping<T>(schema: z.ZodType<T>, text: string, source: string): T {
  let value: unknown;
  try {
    value = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new MappingError(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new MappingError(parsed.error.issues.map((i) => `${source}: ${fieldPath(i.path)}: ${i.message}`).join('\n'));
  return parsed.data;
}

/** The mappings of `dir` by their key (a device profile); two files with one key is an error naming both. */
export function loadKeyedMappings<T>(schema: z.ZodType<T>, dir: string, variable: string, key: { field: string; of: (m: T) => string }): Map<string, T> {
  const out = new Map<string, { file: string; mapping: T }>();
  for (const entry of loadMappingDir(schema, dir, variable)) {
    const k = key.of(entry.mapping);
    const other = out.get(k);
    if (other) throw new MappingError(`${entry.file}: ${key.field}: "${k}" is already mapped by ${other.file}`);
    out.set(k, entry);
  }
  return new Map([...out].map(([k, v]) => [k, v.mapping]));
}

/** Every *.yaml, *.yml and *.json in `dir`, parsed; `variable` names the setting in errors. */
export function loadMappingDir<T>(schema: z.ZodType<T>, dir: string, variable: string): Array<{ file: string; mapping: T }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  } catch (err) {
    throw new MappingError(`${variable}: cannot read the mapping directory ${dir}: ${(err as Error).message}`);
  }
  return names.map((name) => {
    const file = join(dir, name);
    return { file, mapping: parseMapping(schema, readFileSync(file, 'utf8'), file) };
  });
}
