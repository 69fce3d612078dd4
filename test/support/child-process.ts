import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ChildIngest {
  child: ChildProcess;
  ready: Record<string, string>;
  output(): string;
  /** SIGKILL: no shutdown code runs, like a power cut of the ingest process. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** `READY {json}` on a line of its own, as test/support/embedded-ingest-child.ts prints it. */
const readyLine = (out: string) => {
  const m = /^READY (.*)$/m.exec(out);
  return m ? (JSON.parse(m[1]!) as Record<string, string>) : undefined;
};

/**
 * Runs a TypeScript entry (path from the repo root) in `node --import tsx`, one process (the tsx CLI would
 * put a second node process in between, which a SIGKILL would leave running); resolves once `ready` finds
 * what it needs in the output (default: a `READY {json}` line). `nodeFlags`: node's own flags, on its command
 * line (some V8 flags, such as --heap-growing-percent, are refused in NODE_OPTIONS).
 */
export async function startChild(entry: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000, ready: (out: string) => Record<string, string> | undefined = readyLine, nodeFlags: readonly string[] = []): Promise<ChildIngest> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(ROOT, entry)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const found = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready after ${timeoutMs} ms: ${out.slice(-3000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const r = ready(out);
      if (r) {
        clearTimeout(timer);
        resolve(r);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}: ${out.slice(-3000)}`));
    });
  });
  return { child, ready: found, output: () => out.slice(-5000), ...processControl(child, 15_000) };
}

/** kill(): SIGKILL, like a power cut; stop(): SIGTERM, SIGKILL after `graceMs`; both resolve on exit. */
export function processControl(child: ChildProcess, graceMs: number): { kill(): Promise<void>; stop(): Promise<void> } {
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
  return {
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited();
      clearTimeout(timer);
    },
  };
}

/** A process's resident memory now, in MB (Linux /proc). */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
