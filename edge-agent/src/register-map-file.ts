import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRegisterMap, type RegisterMap } from '@tsunagaru/firmware-contracts';
import { parse as parseYaml } from 'yaml';
import { EdgeAgentError } from './errors.js';

/** Register maps shipped with the agent (`edge-agent/register-maps/`), by name. */
export const BUILTIN_REGISTER_MAPS = {
  'bs-power-dcp48': 'bs-power-dcp48.yaml',
  'smart-pole-cabinet': 'smart-pole-cabinet.yaml',
} as const;
export type BuiltinRegisterMap = keyof typeof BUILTIN_REGISTER_MAPS;

export const REGISTER_MAPS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'register-maps');

function isBuiltin(name: string): name is BuiltinRegisterMap {
  return Object.hasOwn(BUILTIN_REGISTER_MAPS, name);
}

/** A built-in name (`bs-power-dcp48`) or a path to a `.yaml`, `.yml` or `.json` file. */
export function registerMapPath(nameOrPath: string, relativeTo = process.cwd()): string {
  return isBuiltin(nameOrPath) ? join(REGISTER_MAPS_DIR, BUILTIN_REGISTER_MAPS[nameOrPath]) : resolve(relativeTo, nameOrPath);
}

function mapError(file: string, message: string, details: readonly string[] = [], cause?: unknown): EdgeAgentError {
  return new EdgeAgentError('EDGE_ERR_REGISTER_MAP', `register map ${file}: ${message}`, { details, cause });
}

/** Parses map text (YAML is a superset of JSON, so one parser reads both) and validates it. */
export function parseRegisterMapText(text: string, file: string): RegisterMap {
  let value: unknown;
  try {
    value = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw mapError(file, `not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`, [], err);
  }
  const result = parseRegisterMap(value);
  if (!result.ok) throw mapError(file, result.errors.join('; '), result.errors);
  return result.map;
}

/** Loads and validates a register map; errors name the file and the field. */
export async function loadRegisterMap(nameOrPath: string, relativeTo?: string): Promise<RegisterMap> {
  const file = registerMapPath(nameOrPath, relativeTo);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const hint = isBuiltin(nameOrPath) ? '' : `; use a file path or a built-in map (${Object.keys(BUILTIN_REGISTER_MAPS).join(', ')})`;
    throw mapError(file, `cannot read: ${(err as Error).message}${hint}`, [], err);
  }
  return parseRegisterMapText(text, file);
}
