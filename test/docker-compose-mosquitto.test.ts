/**
 * The mosquitto the compose `mosquitto` profile runs: the committed deploy/mosquitto/mosquitto.conf, only its
 * container paths and port rewritten, started with Debian's mosquitto on the dynamic security file written
 * from a real registry by deploy/scripts/mosquitto-auth.ts. A device logs in with its secret and reaches an
 * ingest worker on the MQTT 5 shared subscription; it cannot join that subscription itself; wrong, unknown
 * and revoked credentials do not get in.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { connect, connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { loadComposeFile } from '../deploy/scripts/compose-file.js';
import { writeMosquittoAuth } from '../deploy/scripts/mosquitto-auth.js';
import { MOSQUITTO_BIN, mosquittoAvailable } from './support/mosquitto.js';
import { freePort, portOpen } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

/** Debian's path; the eclipse-mosquitto image has it in /usr/lib. */
const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const INGEST = { username: 'tsunagaru-ingest', password: 'ingest-mqtt-password-0123456789' };

/** The committed file with container paths moved into `dir`; each rewrite must hit exactly once. */
function localConf(dir: string, port: number): string {
  let conf = readFileSync('deploy/mosquitto/mosquitto.conf', 'utf8');
  const rewrites: [RegExp, string][] = [
    [/^listener 1883$/m, `listener ${port} 127.0.0.1`],
    [/^plugin \/usr\/lib\/mosquitto_dynamic_security\.so$/m, `plugin ${DYNSEC_PLUGIN}`],
    [/^plugin_opt_config_file \/mosquitto\/auth\/dynamic-security\.json$/m, `plugin_opt_config_file ${dir}/auth/dynamic-security.json`],
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

describe.runIf(mosquittoAvailable())('deploy/mosquitto/mosquitto.conf with a generated dynamic-security.json', () => {
  const tmp = makeTempDir('compose-mosquitto');
  const clients: MqttClient[] = [];
  let mosquitto: ChildProcess | undefined;
  let output = '';
  let url = '';
  let port = 0;
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
    expect(result).toMatchObject({ devices: ['pole-compose-01'], withoutSecret: ['wm-compose-01'], headEndMeters: [] });

    port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    writeFileSync(join(tmp.path, 'mosquitto.conf'), localConf(tmp.path, port));
    await startMosquitto();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await stopMosquitto();
    await registry?.close();
    tmp.remove();
  });

  async function startMosquitto(): Promise<void> {
    const child = spawn(MOSQUITTO_BIN, ['-c', join(tmp.path, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    mosquitto = child;
    await waitFor('mosquitto to listen', () => (child.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${output}`)) : portOpen(port)), 10_000);
  }

  /** As `docker compose restart` stops it: SIGTERM, and mosquitto writes its persistence file on the way out. */
  async function stopMosquitto(): Promise<void> {
    const child = mosquitto;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  it('delivers device messages to the workers on $share/ingest, and lets no device join that group or forge a topic', async () => {
    const workers = await Promise.all([1, 2].map((n) => login(INGEST.username, INGEST.password, { protocolVersion: 5, clean: false, clientId: `tsunagaru-ingest-worker-${n}` })));
    const received: string[] = [];
    for (const w of workers) {
      expect((await w.subscribeAsync('$share/ingest/tsunagaru/v1/#', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
      w.on('message', (_topic, payload) => received.push(payload.toString()));
    }
    const pole = await login('pole-compose-01', secrets['pole-compose-01']!, { protocolVersion: 5, clientId: 'pole-compose-01' });
    // Joining the workers' group would hand this device a turn of their feed: refused (0x87 not authorised).
    await expect(pole.subscribeAsync('$share/ingest/tsunagaru/v1/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(pole.subscribeAsync('tsunagaru/v1/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
    expect((await pole.subscribeAsync(buildTopic('smart-pole', 'pole-compose-01', 'cmd'), { qos: 1 })).map((g) => g.qos)).toEqual([1]);

    const own = buildTopic('smart-pole', 'pole-compose-01', 'telemetry');
    await expect(pole.publishAsync(buildTopic('water-meter', 'wm-compose-01', 'telemetry'), 'forged', { qos: 1 })).rejects.toThrow(/Not authorized/);
    const sent = Array.from({ length: 20 }, (_, i) => `reading-${i}`);
    for (const payload of sent) await pole.publishAsync(own, payload, { qos: 1 });
    await waitFor('the workers to receive every reading', () => received.length >= sent.length, 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.sort()).toEqual([...sent].sort());
    // Their sessions end with them (no session expiry interval), leaving the group empty for the restart test.
    await Promise.all(workers.map((w) => w.endAsync()));
  });

  it('refuses anonymous, wrong and unknown credentials, and a device whose secret it was never given', async () => {
    await expect(connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('pole-compose-01', 'not-the-secret-0123456789')).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('nobody', 'whatever-0123456789')).rejects.toThrow(/Not authorized|Bad username/i);
    await expect(login('wm-compose-01', secrets['wm-compose-01']!)).rejects.toThrow(/Not authorized|Bad username/i);
  });

  it('passes its compose healthcheck only while it lets the ingest account in', async () => {
    // The compose command as the container's shell gets it ($$ → $), on this test's port.
    const command = loadComposeFile().services.mosquitto!.healthcheck!.test as string[];
    expect(command[0]).toBe('CMD-SHELL');
    const shell = command[1]!.replaceAll('$$', '$');
    expect(shell.match(/ -p 1883 /g)).toHaveLength(1);
    const probe = (password: string, onPort = port) =>
      new Promise<number>((resolve) => {
        execFile('sh', ['-c', shell.replace(' -p 1883 ', ` -p ${onPort} `)], { env: { ...process.env, TSUNAGARU_INGEST_MQTT_PASSWORD: password }, timeout: 10_000 }, (err) => resolve(err ? Number((err as { code?: number }).code ?? 1) : 0));
      });
    expect(await probe(INGEST.password)).toBe(0);
    expect(await probe('not-the-ingest-password-0123')).not.toBe(0);
    expect(await probe(INGEST.password, await freePort())).not.toBe(0);
  });

  it('refuses a secret that is not the device\'s current one before writing it', async () => {
    await expect(generate({ 'wm-compose-01': 'an-old-or-mistyped-secret-0123' })).rejects.toThrow(/not its current one/);
    await expect(generate({ 'ghost-01': 'whatever-0123456789abcdef' })).rejects.toThrow(/not in the registry/);
  });

  it('keeps a known entry across runs, holds a worker\'s queue over a restart, and shuts a disabled device out', async () => {
    // A worker with a session that outlives its connection, away while the pole publishes.
    const session = { protocolVersion: 5 as const, clean: false, clientId: 'tsunagaru-ingest-worker-9', properties: { sessionExpiryInterval: 0xffffffff } };
    const worker = await login(INGEST.username, INGEST.password, session);
    await worker.subscribeAsync('$share/ingest/tsunagaru/v1/#', { qos: 1 });
    await worker.endAsync();
    const pole = await login('pole-compose-01', secrets['pole-compose-01']!, { clientId: 'pole-compose-01' });
    for (let i = 0; i < 5; i++) await pole.publishAsync(buildTopic('smart-pole', 'pole-compose-01', 'telemetry'), `queued-${i}`, { qos: 1 });
    await pole.endAsync();

    // Rerun with no secrets: the pole keeps the entry written before. mosquitto reads the file at start.
    expect((await generate({})).devices).toEqual(['pole-compose-01']);
    await stopMosquitto();
    await startMosquitto();
    await login('pole-compose-01', secrets['pole-compose-01']!);
    const queued: string[] = [];
    // The handler must be there before CONNACK: the queue arrives right behind it.
    const back = connect(url, { username: INGEST.username, password: INGEST.password, reconnectPeriod: 0, ...session });
    clients.push(back);
    back.on('message', (_t, payload) => queued.push(payload.toString()));
    await waitFor('the queued readings after the restart', () => queued.length >= 5, 5000);
    expect(queued.sort()).toEqual(['queued-0', 'queued-1', 'queued-2', 'queued-3', 'queued-4']);

    await registry.setDisabled('pole-compose-01', true);
    expect((await generate({})).devices).toEqual([]);
    await stopMosquitto();
    await startMosquitto();
    await expect(login('pole-compose-01', secrets['pole-compose-01']!)).rejects.toThrow(/Not authorized|Bad username/i);
    expect(output).not.toMatch(/Error/);
  });

  it('writes integration principals with the rights they have on our broker: ChirpStack its application\'s events and downlinks, a Sparkplug edge node its own topics', async () => {
    const APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
    const cs = { username: `chirpstack-${APP}`, password: 'chirpstack-integration-secret-0123' };
    const edge = { username: 'sparkplug-city-PS01', password: 'sparkplug-integration-secret-0123' };
    await registry.upsertService(cs.username, 'integration', cs.password, { type: 'chirpstack', applicationId: APP });
    await registry.upsertService(edge.username, 'integration', edge.password, { type: 'sparkplug', groupId: 'city', edgeNodeId: 'PS01' });
    const result = await generate({ [cs.username]: cs.password, [edge.username]: edge.password });
    expect(result.integrations).toEqual([cs.username, edge.username]);
    await stopMosquitto();
    await startMosquitto();
    const v5 = { protocolVersion: 5 as const };

    // The ingest, a host application: ChirpStack events and the Sparkplug namespace in, downlinks and NCMD out.
    const ingest = await login(INGEST.username, INGEST.password, v5);
    const seen: string[] = [];
    ingest.on('message', (topic) => seen.push(topic));
    expect((await ingest.subscribeAsync([`application/${APP}/device/+/event/+`, 'spBv1.0/city/#'], { qos: 1 })).map((g) => g.qos)).toEqual([1, 1]);

    const chirpstack = await login(cs.username, cs.password, { ...v5, clientId: cs.username });
    const downlinks: string[] = [];
    chirpstack.on('message', (topic) => downlinks.push(topic));
    expect((await chirpstack.subscribeAsync(`application/${APP}/device/+/command/down`, { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await expect(chirpstack.subscribeAsync('application/another-app/device/+/command/down', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(chirpstack.subscribeAsync(`application/${APP}/device/+/event/+`, { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(chirpstack.publishAsync('application/another-app/device/0101010101010101/event/up', '{}', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(chirpstack.publishAsync(`application/${APP}/device/0101010101010101/command/down`, '{}', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await chirpstack.publishAsync(`application/${APP}/device/0101010101010101/event/up`, '{}', { qos: 1 });
    await ingest.publishAsync(`application/${APP}/device/0101010101010101/command/down`, '{}', { qos: 1 });
    await waitFor('the downlink at ChirpStack', () => downlinks.length >= 1, 5000);

    const node = await login(edge.username, edge.password, { ...v5, clientId: edge.username });
    const commands: string[] = [];
    node.on('message', (topic) => commands.push(topic));
    expect((await node.subscribeAsync(['spBv1.0/city/NCMD/PS01', 'spBv1.0/city/DCMD/PS01/+', 'spBv1.0/STATE/+'], { qos: 1 })).map((g) => g.qos)).toEqual([1, 1, 1]);
    await expect(node.subscribeAsync('spBv1.0/city/NCMD/DC01', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(node.publishAsync('spBv1.0/city/NDATA/DC01', 'x', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await expect(node.publishAsync('spBv1.0/city/NCMD/PS01', 'x', { qos: 1 })).rejects.toThrow(/Not authorized/);
    await node.publishAsync('spBv1.0/city/NDATA/PS01', 'x', { qos: 1 });
    await node.publishAsync('spBv1.0/city/DDATA/PS01/Pump1', 'x', { qos: 1 });
    await ingest.publishAsync('spBv1.0/city/DCMD/PS01/Pump1', 'x', { qos: 1 });
    await waitFor('the DCMD at the edge node', () => commands.includes('spBv1.0/city/DCMD/PS01/Pump1'), 5000);
    await waitFor('the integrations\' messages at the ingest', () => seen.length >= 3, 5000);
    await new Promise((r) => setTimeout(r, 200));
    // Exactly what the principals were allowed to publish, plus the ingest's own DCMD (it reads spBv1.0/#).
    expect(seen.sort()).toEqual([`application/${APP}/device/0101010101010101/event/up`, 'spBv1.0/city/DCMD/PS01/Pump1', 'spBv1.0/city/DDATA/PS01/Pump1', 'spBv1.0/city/NDATA/PS01']);
    expect(downlinks).toEqual([`application/${APP}/device/0101010101010101/command/down`]);
  });
});
