/**
 * The bench starts our processes as the package.json scripts do (`npm run broker`, `npm run ingest`,
 * `npm start`), runtime flags included, so a figure is what a user who runs those commands gets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Script `name`, which must read `[NAME=value…] exec node [node flags…] --import tsx <entry>` (one process
 * that gets the signals npm passes on; package.json) or `tsx [node flags…] <entry>`, as its environment,
 * node flags and entry (relative to the repo).
 */
function parseScript(name: string, packageJson: string): { env: Record<string, string>; flags: string[]; entry: string } {
  const script = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts?: Record<string, string> }).scripts?.[name];
  const all = script?.trim().split(/\s+/) ?? [];
  const assigned = all.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=\S*$/.test(w));
  const env = Object.fromEntries(all.slice(0, Math.max(assigned, 0)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  const words = all.slice(Math.max(assigned, 0));
  const runner = words[0] === 'exec' ? words.slice(1) : words;
  let flags = runner.slice(1, -1);
  let ok = (runner[0] === 'tsx' || runner[0] === 'node') && runner.length >= 2;
  if (runner[0] === 'node') {
    const at = flags.findIndex((f, i) => f === '--import' && flags[i + 1] === 'tsx');
    ok &&= at >= 0;
    flags = flags.filter((_f, i) => i !== at && i !== at + 1);
  }
  if (!ok || !flags.every((f) => f.startsWith('--'))) {
    throw new Error(`package.json script "${name}" is ${JSON.stringify(script)}; the bench expects "[NAME=value…] exec node [node flags…] --import tsx <entry>" or "tsx [node flags…] <entry>"`);
  }
  return { env, flags, entry: runner.at(-1)! };
}

/** The node arguments that run script `name` in one process: e.g. ['--max-semi-space-size=64', '--import', 'tsx', 'broker/src/main.ts']. */
export function nodeArgsOfScript(name: string, packageJson = join(ROOT, 'package.json')): string[] {
  const { flags, entry } = parseScript(name, packageJson);
  return [...flags, '--import', 'tsx', entry];
}

/** The node flags of script `name` (for the command line of a harness that wires the same process). */
export function runtimeFlagsOfScript(name: string, packageJson = join(ROOT, 'package.json')): string[] {
  return parseScript(name, packageJson).flags;
}

/** The environment script `name` sets before node starts (e.g. MALLOC_ARENA_MAX for npm start): a harness passes it on. */
export function envOfScript(name: string, packageJson = join(ROOT, 'package.json')): Record<string, string> {
  return parseScript(name, packageJson).env;
}
