/**
 * The two brokers under test, each in its own process with authentication and ACLs on: ours
 * (`tsx broker/src/main.ts`, the `npm run broker` entry point, on a file registry written for the
 * bench) and Debian's mosquitto (the equivalent passwd/ACL from mosquitto-config.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSecret, registryPathFor, writeMosquittoConfig, type DeviceRecord, type ServiceAccount } from '@tsunagaru/broker';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { freePort, portOpen } from '../../test/support/ports.js';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { waitFor } from '../../test/support/wait-for.js';
import { nodeArgsOfScript } from './npm-script.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
export const INGEST_USERNAME = 'tsunagaru-ingest';

export interface BenchDevice {
  id: string;
  type: DeviceType;
  secret: string;
  /** scrypt cost of this device's stored hash in our registry (production: 16384). */
  scryptN: number;
}

export interface Fleet {
  devices: BenchDevice[];
  ingest: { username: string; password: string };
}

/** Devices `${prefix}-00000…`, cycling through the contract's four types. */
export function makeFleet(prefix: string, count: number, scryptN: number, secret: string): BenchDevice[] {
  const types: DeviceType[] = ['smart-pole', 'water-meter', 'bs-power', 'ring-node'];
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${String(i).padStart(5, '0')}`, type: types[i % types.length]!, secret, scryptN }));
}

export interface RunningBroker {
  label: string;
  pid: number;
  port: number;
  /** The last few KB it wrote to stderr (mosquitto logs there, e.g. "Outgoing messages are being dropped"). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Writes our registry file directly: one scrypt hash per (secret, N), shared by the devices that use
 * that secret. A login still costs one full scrypt at the stored N (the salt does not change the
 * work), but provisioning 10,000 devices does not cost 10,000 hashes before the bench starts.
 */
async function writeRegistry(dataDir: string, fleet: Fleet): Promise<void> {
  const hashes = new Map<string, Promise<string>>();
  const hashOf = (secret: string, N: number): Promise<string> => {
    const key = `${N}:${secret}`;
    if (!hashes.has(key)) hashes.set(key, hashSecret(secret, { N }));
    return hashes.get(key)!;
  };
  const now = new Date().toISOString();
  const lines: string[] = [];
  const service: ServiceAccount = { username: fleet.ingest.username, role: 'ingest', secretHash: await hashOf(fleet.ingest.password, 16384), createdAt: now };
  lines.push(JSON.stringify({ v: 1, op: 'service', record: service }));
  for (const d of fleet.devices) {
    const record: DeviceRecord = { id: d.id, type: d.type, attributes: {}, secretHash: await hashOf(d.secret, d.scryptN), disabled: false, createdAt: now, updatedAt: now };
    lines.push(JSON.stringify({ v: 1, op: 'device', record }));
  }
  const path = registryPathFor(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function supervise(label: string, child: ChildProcess, port: number, cleanup: () => void): Promise<RunningBroker> {
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
  const exited = (): Promise<never> => Promise.reject(new Error(`${label} exited with ${child.exitCode ?? child.signalCode}: ${output.trim()}`));
  return waitFor(`${label} to listen on ${port}`, () => (child.exitCode !== null ? exited() : portOpen(port)), 30_000).then(
    () => ({ label, pid: child.pid!, port, output: () => output, stop }),
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
}

export interface OursOptions {
  /** Extra environment for broker/src/main.ts (e.g. MQTT_MAX_CONNECTIONS). */
  env?: Record<string, string>;
  /** Node flags before the entry point, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeArgs?: string[];
}

/**
 * Our standalone broker. Per-device publish rate limits are off (MQTT_DEVICE_MSGS_PER_SEC=0,
 * MQTT_DEVICE_BYTES_PER_SEC=0): the bench publishes far above a real device's 50 msg/s, and
 * mosquitto has no such limit. Logging stays at the production default (info, to /dev/null).
 */
export async function startOurs(fleet: Fleet, options: OursOptions = {}): Promise<RunningBroker> {
  const dir = makeTempDir('bench-ours');
  await writeRegistry(dir.path, fleet);
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...nodeArgsOfScript('broker')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      DATA_DIR: dir.path,
      MQTT_PORT: String(port),
      MQTT_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_BROKER_LOG_LEVEL ?? 'info',
      MQTT_DEVICE_MSGS_PER_SEC: '0',
      MQTT_DEVICE_BYTES_PER_SEC: '0',
      ...options.env,
    },
  });
  return supervise('our broker', child, port, () => dir.remove());
}

/**
 * mosquitto as a user running an ingest behind it sets it: it never drops a QoS 1 message it has
 * acknowledged to a publisher because the ingest is slower for a while (no cap on the number queued, a
 * memory-sized cap on the bytes: 1 GiB), and it lets the ingest, which acknowledges in batches, have 100
 * messages in flight (mosquitto's default 20 leaves it waiting for round trips). Beyond the byte cap
 * mosquitto still drops; the fan-in suite reports that loss as a figure of the run.
 */
export const MOSQUITTO_FOR_AN_INGEST = { maxQueuedMessages: 0, maxQueuedBytes: 1024 ** 3, maxInflightMessages: 100 } as const;

/** Debian mosquitto with the same accounts and rights (passwords as PBKDF2-SHA512, its default 101 iterations), set up for an ingest. */
export async function startMosquitto(fleet: Fleet): Promise<RunningBroker> {
  const dir = makeTempDir('bench-mosquitto');
  const port = await freePort();
  const files = await writeMosquittoConfig({
    dir: dir.path,
    port,
    credentials: [
      { username: fleet.ingest.username, password: fleet.ingest.password, role: 'ingest' },
      ...fleet.devices.map((d) => ({ username: d.id, password: d.secret, role: 'device' as const, type: d.type })),
    ],
    queue: MOSQUITTO_FOR_AN_INGEST,
  });
  const child = spawn(MOSQUITTO_BIN, ['-c', files.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  return supervise('mosquitto', child, port, () => dir.remove());
}

export type BrokerKind = 'ours' | 'mosquitto';

export function startBroker(kind: BrokerKind, fleet: Fleet, options: OursOptions = {}): Promise<RunningBroker> {
  return kind === 'ours' ? startOurs(fleet, options) : startMosquitto(fleet);
}
