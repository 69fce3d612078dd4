/** Shared bits of the operator CLIs (`npm run devices`, `npm run tokens`). */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { AuditActor } from '@tsunagaru/ingest';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

/** `a b --k v --k w --json` → positional [a, b], flags {k: [v, w], json: ['true']}. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const next = argv[i + 1];
    const value = inline ?? (next !== undefined && !next.startsWith('--') ? (i++, next) : 'true');
    flags.set(key, [...(flags.get(key) ?? []), value]);
  }
  return { positional, flags };
}

export function dataDirFromEnv(): string {
  return resolve(process.env.DATA_DIR || './data');
}

/** The audit actor for a CLI run: the OS user (the person with a shell on the server). */
export function cliActor(command: string): AuditActor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return { kind: 'cli', id: user, name: command };
}

export class UsageError extends Error {}

/** Runs a CLI main: usage errors exit 2 with the usage text, coded errors exit 1 with `CODE: message`. */
export function runCli(name: string, usage: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${name}: ${err.message}\n\n${usage}\n`);
        process.exit(2);
      }
      const code = (err as { code?: string }).code;
      process.stderr.write(`${name}: ${code ? `${code}: ` : ''}${(err as Error).message ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
