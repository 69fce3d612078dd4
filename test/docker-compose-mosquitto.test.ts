/**
 * The mosquitto the compose `mosquitto` profile runs: the committed deploy/mosquitto/mosquitto.conf, only its
 * container paths and port rewritten, started with Debian's mosquitto on passwd/acl files written from a real
 * registry by deploy/scripts/mosquitto-auth.ts. A device logs in with its secret and reaches an ingest worker
 * on the MQTT 5 shared subscription; wrong, unknown and revoked credentials do not get in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { writeMosquittoAuth } from '../deploy/scripts/mosquitto-auth.js';
import { MOSQUITTO_BIN, mosquittoAvailable } from './support/mosquitto.js';
import { freePort, portOpen } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const INGEST = { username: 'tsunagaru-ingest', password: 'ingest-mqtt-password-0123456789' };

/** The committed file with container paths moved into `dir`; each rewrite must hit exactly once. */
function localConf(dir: string, port: number): string {
  let conf = readFileSync('deploy/mosquitto/mosquitto.conf', 'utf8');
  const rewrites: [RegExp, string][] = [
    [/^listener 1883$/m, `listener ${port} 127.0.0.1`],
    [/^password_file \/mosquitto\/auth\/passwd$/m, `password_file ${dir}/auth/passwd`],
    [/^acl_file \/mosquitto\/auth\/acl$/m, `acl_file ${dir}/auth/acl`],
    [/^persistence_location \/mosquitto\/data\/$/m, `persistence_location ${dir}/`],
  ];
  for (const [pattern, replacement] of rewrites) {
    expect(conf.match(new RegExp(pattern.source, 'gm')), `deploy/mosquitto/mosquitto.conf: ${pattern}`).toHaveLength(1);
    conf = conf.replace(pattern, replacement);
  }
  expect(conf).not.toContain('/mosquitto/');
  // Started as root (CI containers), mosquitto would switch to the `mosquitto` user, who cannot read the temp dir.
  return `user ${userInfo().username}\n${conf}`;
}

describe.runIf(mosquittoAvailable())('deploy/mosquitto/mosquitto.conf with generated passwd and acl', () => {
  const tmp = makeTempDir('compose-mosquitto');
  const clients: MqttClient[] = [];
  let mosquitto: ChildProcess;
  let output = '';
  let url = '';
  let registry: FileDeviceRegistry;
  const secrets: Record<string, string> = {};

  const generate = (given: Record<string, string>) =>
    writeMosquittoAuth({ registryPath: registryPathFor(join(tmp.path, 'data')), outDir: join(tmp.path, 'auth'), ingest: INGEST, secrets: given });
  const login = async (username: string, password: string, extra: Record<string, unknown> = {}) => {
    const client = await connectAsync(url, { username, password, clientId: `${username}-${clients.length}`, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    registry = await FileDeviceRegistry.open({ path: registryPathFor(join(tmp.path, 'data')), watch: false });
    for (const [id, type] of [['pole-compose-01', 'smart-pole'], ['wm-compose-01', 'water-meter']] as const) secrets[id] = (await registry.provision({ id, type })).secret;
    // Only the pole's secret is handed over: the meter stays in the ACL but cannot log in.
    const result = await generate({ 'pole-compose-01': secrets['pole-compose-01']! });
    expect(result).toMatchObject({ devices: ['pole-compose-01'], withoutSecret: ['wm-compose-01'], unsupported: [] });

    const port = await freePort();
    writeFileSync(join(tmp.path, 'mosquitto.conf'), localConf(tmp.path, port));
    mosquitto = spawn(MOSQUITTO_BIN, ['-c', join(tmp.path, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    mosquitto.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    mosquitto.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor('mosquitto to listen', () => (mosquitto.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${output}`)) : portOpen(port)), 10_000);
    url = `mqtt://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    if (mosquitto && mosquitto.exitCode === null) {
      const exited = new Promise((r) => mosquitto.once('exit', r));
      mosquitto.kill('SIGTERM');
      await exited;
    }
    await registry?.close();
    tmp.remove();
  });

  it('delivers a device message to a worker on $share/ingest, and drops what the ACL forbids', async () => {
    const worker = await login(INGEST.username, INGEST.password, { protocolVersion: 5, clean: false, clientId: 'tsunagaru-ingest-worker-1' });
    const granted = await worker.subscribeAsync('$share/ingest/tsunagaru/v1/#', { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const received: string[] = [];
    worker.on('message', (topic) => received.push(topic));

    const pole = await login('pole-compose-01', secrets['pole-compose-01']!, { clientId: 'pole-compose-01' });
    const own = buildTopic('smart-pole', 'pole-compose-01', 'telemetry');
    // mosquitto drops a forbidden publish silently (MQTT 3.1.1 has no negative PUBACK), so send it first.
    await pole.publishAsync(buildTopic('water-meter', 'wm-compose-01', 'telemetry'), '{"forged":true}', { qos: 1 });
    await pole.publishAsync(own, '{"ok":true}', { qos: 1 });
    await waitFor('the worker to receive the pole telemetry', () => received.includes(own), 5000);
    expect(received).toEqual([own]);
  });

  it('refuses anonymous, wrong and unknown credentials, and a device whose secret it was never given', async () => {
    await expect(connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('pole-compose-01', 'not-the-secret-0123456789')).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('nobody', 'whatever-0123456789')).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('wm-compose-01', secrets['wm-compose-01']!)).rejects.toThrow(/Not authorized|Bad username/i);
  });

  it('refuses a secret that is not the device\'s current one before writing it', async () => {
    await expect(generate({ 'wm-compose-01': 'an-old-or-mistyped-secret-0123' })).rejects.toThrow(/not its current one/);
    await expect(generate({ 'ghost-01': 'whatever-0123456789abcdef' })).rejects.toThrow(/not in the registry/);
  });

  it('keeps a known line across runs, and shuts a disabled device out after a rerun and SIGHUP', async () => {
    // Rerun with no secrets: the pole keeps the line written before.
    expect((await generate({})).devices).toEqual(['pole-compose-01']);
    mosquitto.kill('SIGHUP');
    await waitFor('the pole to log in after the reload', () => login('pole-compose-01', secrets['pole-compose-01']!).then(() => true, () => false), 5000);

    await registry.setDisabled('pole-compose-01', true);
    expect((await generate({})).devices).toEqual([]);
    mosquitto.kill('SIGHUP');
    await waitFor('mosquitto to refuse the disabled pole', () => login('pole-compose-01', secrets['pole-compose-01']!).then(() => false, () => true), 5000);
    expect(output).not.toMatch(/Error:/);
  });
});
