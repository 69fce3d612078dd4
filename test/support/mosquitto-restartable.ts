import { spawn, type ChildProcess } from 'node:child_process';
import { writeMosquittoConfig, type MosquittoCredential } from '@tsunagaru/broker';
import { MOSQUITTO_BIN } from './mosquitto.js';
import { freePort, portOpen } from './ports.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface RestartableMosquitto {
  url: string;
  /** SIGTERM (mosquitto saves its persistence file) and wait for exit. */
  stop(): Promise<void>;
  /** Start again on the same port, configuration and persistence. */
  start(): Promise<void>;
  dispose(): Promise<void>;
  output(): string;
}

/** Debian's mosquitto with persistence on, which can be restarted in place (broker-restart fault test). */
export async function startRestartableMosquitto(credentials: MosquittoCredential[]): Promise<RestartableMosquitto> {
  const dir = makeTempDir('mosquitto-r');
  const port = await freePort();
  const files = await writeMosquittoConfig({ dir: dir.path, port, credentials });
  let child: ChildProcess | undefined;
  let out = '';
  const broker: RestartableMosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out.slice(-4000),
    async start() {
      const c = spawn(MOSQUITTO_BIN, ['-c', files.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(`mosquitto on ${port}`, () => (c.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${out}`)) : portOpen(port)), 10_000, 50);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await broker.stop();
      dir.remove();
    },
  };
  await broker.start();
  return broker;
}
