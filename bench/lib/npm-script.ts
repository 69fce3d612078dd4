/**
 * The bench starts our processes as the package.json scripts do (`npm run broker`, `npm run ingest`,
 * `npm start`), runtime flags included, so a figure is what a user who runs those commands gets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** Script `name`, which must read `tsx [node flags…] <entry>`, as its node flags and entry (relative to the repo). */
function parseScript(name: string, packageJson: string): { flags: string[]; entry: string } {
  const script = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts?: Record<string, string> }).scripts?.[name];
  const words = script?.trim().split(/\s+/) ?? [];
  const flags = words.slice(1, -1);
  if (words[0] !== 'tsx' || words.length < 2 || !flags.every((f) => f.startsWith('--'))) {
    throw new Error(`package.json script "${name}" is ${JSON.stringify(script)}; the bench expects "tsx [node flags…] <entry>"`);
  }
  return { flags, entry: words.at(-1)! };
}

/** The node arguments that run script `name` in one process: e.g. ['--max-semi-space-size=64', '--import', 'tsx', 'broker/src/main.ts']. */
export function nodeArgsOfScript(name: string, packageJson = join(ROOT, 'package.json')): string[] {
  const { flags, entry } = parseScript(name, packageJson);
  return [...flags, '--import', 'tsx', entry];
}

/** The node flags of script `name` (e.g. for NODE_OPTIONS of a harness that wires the same process). */
export function runtimeFlagsOfScript(name: string, packageJson = join(ROOT, 'package.json')): string[] {
  return parseScript(name, packageJson).flags;
}
