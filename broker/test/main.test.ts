/**
 * The standalone broker as an operator runs it (`tsx broker/src/main.ts`), sharing a registry file
 * with a writer in another process (here: this test process, standing in for the ingest).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDeviceRegistry, registryPathFor } from '../src/registry/file-registry.js';
import { connect, endAll, tryConnect, waitForClose, type LogLine } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  exit: Promise<number | null>;
}

function startMain(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let err = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as LogLine);
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => err, exit };
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('standalone broker (main.ts)', () => {
  let dataDir: string;
  let writer: FileDeviceRegistry;
  let running: Running | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tsunagaru-main-'));
    writer = await FileDeviceRegistry.open({ path: registryPathFor(dataDir), scryptN: 1024, watch: false });
  });

  afterEach(async () => {
    await endAll();
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exit;
    }
    await writer.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves devices from the shared registry file, follows its changes, and stops cleanly on SIGTERM', async () => {
    const pole = await writer.provision({ id: 'pole-01', type: 'smart-pole' });
    running = startMain({ DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const r = running;
    const ready = await until('broker_ready', () => (r.child.exitCode !== null ? Promise.reject(new Error(r.stderr())) : r.lines.find((l) => l.event === 'broker_ready')));
    const port = ready.port as number;
    expect(port).toBeGreaterThan(0);
    expect(r.lines.find((l) => l.event === 'registry_opened')).toMatchObject({ devices: 1 });

    const client = await connect(port, { username: 'pole-01', password: pole.secret, clientId: 'pole-01' });

    // Provisioned after start by the other process: picked up through the file watcher.
    const meter = await writer.provision({ id: 'wm-01', type: 'water-meter' });
    await until('wm-01 accepted', async () => {
      const attempt = await tryConnect(port, { username: 'wm-01', password: meter.secret, clientId: 'wm-01' });
      return attempt.error ? undefined : attempt;
    });

    const closed = waitForClose(client, 10_000);
    await writer.setDisabled('pole-01', true);
    await closed;
    await until('revocation log', () => r.lines.find((l) => l.event === 'mqtt_session_revoked'));

    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    expect(r.lines.some((l) => l.event === 'broker_stopping')).toBe(true);
  });

  it('exits with status 2 and names the variable when the config is wrong', async () => {
    running = startMain({ DATA_DIR: dataDir, MQTT_PORT: 'eighteen' });
    expect(await running.exit).toBe(2);
    expect(running.stderr()).toContain('broker: MQTT_PORT: must be an integer 0..65535, got "eighteen"');
  });
});
