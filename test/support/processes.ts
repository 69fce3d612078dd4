/**
 * Processes started the way production and operators start them (a compiled entry under plain node,
 * `npm start`), with their output collected, and the check that none is left behind: every process whose
 * environment carries a given DATA_DIR, found in /proc whatever its parent (an orphan is re-parented).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

let built: Promise<void> | undefined;

/** `npm run build`, once per test file (tsc -b is incremental: seconds when nothing changed). */
export function buildOnce(): Promise<void> {
  built ??= new Promise((resolve, reject) =>
    execFile('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeout: 600_000 }, (err, stdout, stderr) => (err ? reject(new Error(`npm run build failed: ${stdout}${stderr}`)) : resolve())),
  );
  return built;
}

export interface Running {
  child: ChildProcess;
  output(): string;
  /** Resolves when the process exited (and its pipes closed, or 2 s later: an orphan may hold them open). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Milliseconds from the call to the exit, once exited. */
  stopMs(): number | undefined;
  signal(name: NodeJS.Signals): void;
}

/** Starts `command args` in the repository with `env` added; its own process group (cleanup kills it whole). */
export function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let signalledAt: number | undefined;
  let exitedAt: number | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedAt = Date.now();
      const timer = setTimeout(() => resolve({ code, signal }), 2000);
      child.once('close', () => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
  });
  return {
    child,
    output: () => out,
    exited,
    stopMs: () => (exitedAt !== undefined && signalledAt !== undefined ? exitedAt - signalledAt : undefined),
    signal(name) {
      signalledAt = Date.now();
      child.kill(name);
    },
  };
}

/** Kills the process group of a test's child if it is still there (a failed test must not leak it). */
export function killGroup(running: Running | undefined): void {
  const pid = running?.child.pid;
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Pids of live processes whose environment has `name=value` (Linux /proc; zombies have no environment). */
export function processesWithEnv(name: string, value: string): number[] {
  const wanted = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(wanted)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
