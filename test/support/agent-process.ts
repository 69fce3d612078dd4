import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

/** `npm run agent -- --config <file>` as a real child process (node + tsx directly, so a signal reaches the agent itself). */
export interface AgentProcess {
  child: ChildProcess;
  /** JSON log lines from stdout. */
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  waitForLine(what: string, match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function startAgentProcess(configFile: string): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'edge-agent/src/agent/main.ts', '--config', configFile], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        err += `${p}\n`;
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    waitForLine: (what, match, timeoutMs = 20_000) =>
      waitFor(`agent log: ${what} (stderr: ${err.slice(-500)})`, () => {
        if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${err.slice(-1000)}`);
        return lines.find(match);
      }, timeoutMs, 50),
  };
}
