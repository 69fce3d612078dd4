import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeMosquittoConfig, type MosquittoCredential } from '@tsunagaru/broker';
import { freePort, portOpen } from './ports.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** On CI a missing mosquitto is a failure (the CI script installs it), never a silent skip. */
export function mosquittoAvailable(): boolean {
  if (existsSync(MOSQUITTO_BIN)) return true;
  if (process.env.CI) throw new Error(`${MOSQUITTO_BIN} is missing: .ci/run must install Debian's mosquitto (scripts/install-test-deps.sh)`);
  return false;
}

export interface RunningMosquitto {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Debian's mosquitto on a free loopback port with our generated passwd/ACL files (auth on, no anonymous). */
export async function startMosquitto(credentials: MosquittoCredential[]): Promise<RunningMosquitto> {
  const dir = makeTempDir('mosquitto');
  const port = await freePort();
  const files = await writeMosquittoConfig({ dir: dir.path, port, credentials });
  return spawnMosquitto(files.confPath, port, dir);
}

/** Runs mosquitto with `confPath` (listening on `port`) until stop(), which also removes `dir`. */
export async function spawnMosquitto(confPath: string, port: number, dir: { remove(): void }): Promise<RunningMosquitto> {
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(`mosquitto to listen on ${port} (output: ${out})`, () => (child.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${out}`)) : portOpen(port)), 10_000);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      dir.remove();
    },
  };
}
