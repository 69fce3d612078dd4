import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

/** A server process a test can stop and start again in place (same port, same data), then dispose. */
export interface ManagedServer {
  url: string;
  /** SIGTERM (SIGKILL after 10 s) and wait for exit; the data stays. */
  stop(): Promise<void>;
  /** Starts again on the same port and data; resolves once `ready` says it answers. */
  start(): Promise<void>;
  /** Stops and removes the data. */
  dispose(): Promise<void>;
  /** The tail of what the process printed, for failure messages. */
  output(): string;
}

export function managedServer(name: string, bin: string, args: string[], url: string, ready: () => Promise<boolean>, remove: () => void): ManagedServer {
  let child: ChildProcess | undefined;
  let out = '';
  const server: ManagedServer = {
    url,
    output: () => out.slice(-4000),
    async start() {
      const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      // A server that cannot be started (not installed) is an error of this start, not an unhandled event.
      let spawnError: Error | undefined;
      c.once('error', (err) => (spawnError = err));
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(`${name} to answer at ${url}`, () => (spawnError ? true : c.exitCode !== null ? Promise.reject(new Error(`${name} exited: ${out.slice(-2000)}`)) : ready()), 30_000, 50);
      if (spawnError) {
        child = undefined;
        throw new Error(`${name} could not be started (${spawnError.message}); scripts/install-test-deps.sh installs the servers the tests and the bench start`);
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async dispose() {
      await server.stop();
      remove();
    },
  };
  return server;
}
