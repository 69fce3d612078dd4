/**
 * The systems the ingest-e2e suite measures, each started fresh per run in its own process (so its peak RSS
 * is its own): our ingest standalone against mosquitto writing InfluxDB 1.6 (`npm run ingest`, STORE=influx-v1),
 * our embedded default (`npm start` wiring: our broker and the ingest in one process, DuckDB), and Node-RED.
 * BENCH_CPU_PROF=<dir> runs our processes under `node --cpu-prof` (profiles written there at exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { apiClient, type ApiClient } from '../../test/support/api-client.js';
import { startChild, type ChildIngest } from '../../test/support/child-process.js';
import { freePort } from '../../test/support/ports.js';
import type { Device } from './ingest-e2e-load.js';
import { envOfScript, nodeArgsOfScript, runtimeFlagsOfScript } from './npm-script.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';

export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

function cpuProfArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

/** The ingest checks that a device is provisioned with its type; the registry file is written before it starts. */
export async function provisionDevices(dataDir: string, devices: readonly Device[], type: 'water-meter' | 'smart-pole' = 'water-meter'): Promise<void> {
  // scrypt N 1024: only the embedded broker verifies these secrets, and logins are not what is measured.
  const registry = await FileDeviceRegistry.open({ path: registryPathFor(dataDir), scryptN: 1024, watch: false, pollIntervalMs: 0 });
  for (const d of devices) await registry.provision({ id: d.id, type, attributes: type === 'water-meter' ? { dma: 'bench-e2e' } : { site: 'bench-e2e' }, secret: d.secret });
  await registry.close();
}

export interface OursRunning {
  pid: number;
  api: ApiClient;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

async function waitHealthy(api: ApiClient, alive: () => boolean, output: () => string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`the ingest exited:\n${output()}`);
    const body = await api.get('/api/v1/health').then((r) => r.body, () => undefined);
    if (body?.mqtt?.connected) return;
    if (Date.now() > until) throw new Error(`the ingest not connected after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `tsx ingest/src/main.ts` (as `node --import tsx`, one process) against an external broker. */
export async function startOursExternal(o: { dataDir: string; mqttUrl: string; mqttPassword: string; influxUrl: string; db: string; user: string; password: string }): Promise<OursRunning> {
  const httpPort = await freePort();
  const env = {
    ...process.env, DATA_DIR: o.dataDir, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(httpPort), MQTT_URL: o.mqttUrl, MQTT_USERNAME: 'tsunagaru-ingest', MQTT_PASSWORD: o.mqttPassword,
    TSUNAGARU_ADMIN_TOKEN: BENCH_TOKEN, STORE: 'influx-v1', INFLUX_URL: o.influxUrl, INFLUX_DB: o.db, INFLUX_USER: o.user, INFLUX_PASSWORD: o.password, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  };
  const child: ChildProcess = spawn(process.execPath, [...cpuProfArgs(), ...nodeArgsOfScript('ingest')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exitedP = new Promise<void>((r) => child.once('exit', () => r()));
  const api = apiClient(`http://127.0.0.1:${httpPort}`, BENCH_TOKEN);
  const stop = async () => {
    if (gone()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exitedP;
    clearTimeout(timer);
  };
  try {
    await waitHealthy(api, () => !gone(), () => out);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid!, api, output: () => out.slice(-5000), exited: gone, stop };
}

/** Our broker and the ingest in one process, the npm start wiring (test/support/embedded-ingest-child.ts), DuckDB. */
export async function startOursEmbedded(dataDir: string): Promise<OursRunning & { mqttUrl: string }> {
  const prof = cpuProfArgs();
  const env: Record<string, string> = { ...envOfScript('start'), DATA_DIR: dataDir, MQTT_PORT: String(await freePort()), HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: BENCH_TOKEN, STORE: 'duckdb', PUBLISH_LIMITS: 'off', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error' };
  // `npm start`'s runtime flags (package.json), on the command line of the test harness that wires it the same way.
  const child: ChildIngest = await startChild('test/support/embedded-ingest-child.ts', env, 60_000, undefined, [...runtimeFlagsOfScript('start'), ...prof]);
  const api = apiClient(child.ready.httpUrl!, BENCH_TOKEN);
  const gone = () => child.child.exitCode !== null || child.child.signalCode !== null;
  return { pid: child.child.pid!, api, mqttUrl: child.ready.mqttUrl!, output: child.output, exited: gone, stop: () => child.stop() };
}

/** Until the drainer has stored `total` messages and the journal is empty; throws on repeated store failures. */
export async function waitDrained(ours: OursRunning, total: number, stallMs = 60_000): Promise<number> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    if (ours.exited()) throw new Error(`the ingest exited:\n${ours.output()}`);
    const h = (await ours.api.get('/api/v1/health')).body;
    const now = performance.now();
    const drained = h.ingest.drain.messages as number;
    if (drained >= total && h.ingest.journal.backlog === 0) return now;
    if (h.ingest.drain.failures > 5) throw new Error(`storing keeps failing: ${h.ingest.drain.lastError}`);
    if (drained !== last) [last, lastChange] = [drained, now];
    else if (now - lastChange > stallMs) throw new Error(`the ingest drained ${drained} of ${total} messages and has not moved for ${Math.round(stallMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The completeness ledger must show each of `deviceIds` with `messagesEach` messages received once and no gap.
 * The drainer records a batch in the ledger just after the store took it, so this waits a little for it.
 */
export async function checkLedger(ours: OursRunning, deviceIds: readonly string[], messagesEach: number, waitMs = 30_000): Promise<void> {
  const wanted = new Set(deviceIds);
  const until = Date.now() + waitMs;
  for (;;) {
    const { devices } = (await ours.api.get('/api/v1/ledger')).body as { devices: Array<{ deviceId: string; received: number; gaps: number }> };
    const rows = devices.filter((d) => wanted.has(d.deviceId));
    const wrong = rows.filter((d) => d.received !== messagesEach || d.gaps !== 0);
    if (rows.length === wanted.size && wrong.length === 0) return;
    if (Date.now() > until || wrong.some((d) => d.received > messagesEach)) {
      throw new Error(`ledger: ${rows.length}/${wanted.size} devices listed; wrong: ${wrong.slice(0, 3).map((d) => `${d.deviceId} received ${d.received}/${messagesEach}, ${d.gaps} gaps`).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid of this process's child running `comm` (e.g. influxd, mosquitto), so its CPU can be read. */
export function childPidNamed(comm: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === process.pid) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}
