/**
 * Issue 17, "Build" and "Signals tested": `npm run build`, then the commands the image and the compose file
 * run, under plain node with the image's NODE_OPTIONS (no tsx, no TypeScript): the single node
 * (Dockerfile CMD), the standalone broker and ingest (compose `broker-1`, `ingest`). Each starts, passes
 * the health probe its container uses, serves a device publishing, and stops cleanly on SIGTERM within a
 * container's grace period. SIGTERM to the single node while devices publish at QoS 1, then a restart on
 * the same DATA_DIR: every acknowledged message stored once.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadComposeFile } from '../deploy/scripts/compose-file.js';
import { apiClient } from './support/api-client.js';
import { connectDevice, telemetryPayload, tryConnect } from './support/device-client.js';
import { instructionsOf, parseDockerfile } from './support/dockerfile.js';
import { freePort } from './support/ports.js';
import { buildOnce, killGroup, processesWithEnv, start, type Running } from './support/processes.js';
import { sigtermUnderLoad } from './support/sigterm-under-load.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const { stages } = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const image = stages.at(-1)!;
/** NODE_OPTIONS of the image: what makes our packages resolve to their compiled output. */
const NODE_OPTIONS = /^NODE_OPTIONS=(.*)$/.exec(instructionsOf(image, 'ENV').map((i) => i.args).find((a) => a.startsWith('NODE_OPTIONS='))!)![1]!;
const CMD = instructionsOf(image, 'CMD').at(-1)!.exec!;
const HEALTHCHECK = instructionsOf(image, 'HEALTHCHECK').at(-1)!.exec!;
const compose = loadComposeFile().services;
const TOKEN = 'compiled-test-admin-token-0123456789';
const GRACE_MS = 10_000;

/** A `node …` command of the image or compose, run with this node and the image's NODE_OPTIONS. */
const runNode = (argv: readonly string[], env: NodeJS.ProcessEnv) => {
  expect(argv[0]).toBe('node');
  return start(process.execPath, argv.slice(1), { NODE_OPTIONS, ...env });
};

/** The container's health probe, as docker runs it beside the service (same environment). */
const probe = (argv: readonly string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    expect(argv[0]).toBe('node');
    execFile(process.execPath, argv.slice(1), { env: { ...process.env, NODE_OPTIONS, ...env }, timeout: 10_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });

const healthTest = (service: string) => (compose[service]!.healthcheck!.test as string[]).slice(1);

/** SIGTERM, then the exit within the grace with code 0. */
async function stopCleanly(running: Running): Promise<number> {
  running.signal('SIGTERM');
  const { code, signal } = await running.exited;
  expect({ code, signal, output: running.output().slice(-1500) }).toMatchObject({ code: 0, signal: null });
  expect(running.stopMs()).toBeLessThan(GRACE_MS);
  return running.stopMs()!;
}

const nothingLeft = (dataDir: string) => waitFor('no process left with this DATA_DIR', () => processesWithEnv('DATA_DIR', dataDir).length === 0, 3000);

describe('the compiled entry points under plain node', () => {
  const dirs: Array<{ path: string; remove(): void }> = [];
  const started: Running[] = [];
  const tempDir = (name: string) => {
    const d = makeTempDir(name);
    dirs.push(d);
    return d.path;
  };
  beforeAll(async () => {
    await buildOnce();
  }, 600_000);
  afterAll(() => {
    for (const r of started) killGroup(r);
    for (const d of dirs) d.remove();
  });

  it('the image command (single node): healthy, serves a device, stops cleanly on SIGTERM', { timeout: 120_000 }, async () => {
    expect(CMD.slice(-1)).toEqual(['dist/scripts/start.js']);
    const dataDir = tempDir('compiled-single');
    // As the single-node compose service sets it, on free loopback ports; mqtts on: openssl makes its certificate.
    const env = { DATA_DIR: dataDir, MQTT_PORT: String(await freePort()), MQTTS_PORT: String(await freePort()), HTTP_PORT: String(await freePort()), SIMULATORS: 'off', LOG_FILE: '-', TSUNAGARU_ADMIN_TOKEN: TOKEN };
    const node = runNode(CMD, env);
    started.push(node);
    await waitFor('the start banner', () => (node.child.exitCode !== null ? Promise.reject(new Error(node.output())) : /REST API\s+http/.test(node.output())), 60_000);
    expect(node.output()).toMatch(/MQTT \(TLS\)\s+mqtts:\/\/localhost:\d+/);
    expect(await probe(HEALTHCHECK, env)).toEqual({ code: 0, out: 'api: ok\n' });

    const api = apiClient(`http://127.0.0.1:${env.HTTP_PORT}`, TOKEN);
    const res = await api.post('/api/v1/devices', { id: 'wm-compiled-1', type: 'water-meter', attributes: { dma: 'shinjuku-1' } });
    expect(res.status).toBe(201);
    const device = await connectDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, 'wm-compiled-1', res.body.secret);
    const ts = Date.now() - 60_000;
    await device.publishAsync('tsunagaru/v1/water-meter/wm-compiled-1/telemetry', telemetryPayload('wm-compiled-1', 0, [{ ts, indexL: 1234, flowLph: 0 }]), { qos: 1 });
    await device.endAsync();
    const reading = await waitFor('the reading', async () => ((await api.get(`/api/v1/devices/wm-compiled-1/readings?from=${ts - 1}`)).body.readings as Array<{ indexL: number }>)[0]);
    expect(reading.indexL).toBe(1234);

    const ms = await stopCleanly(node);
    await nothingLeft(dataDir);
    expect(node.output()).toContain('stopped cleanly');
    expect((await probe(HEALTHCHECK, env)).code).toBe(1);
    console.log(`[compiled single node] healthy, served a device, stopped cleanly ${ms} ms after SIGTERM`);
  });

  it('the health probe speaks HTTPS to an API on the development certificate (HTTP_TLS=dev)', { timeout: 90_000 }, async () => {
    const dataDir = tempDir('compiled-https');
    const env = { DATA_DIR: dataDir, MQTT_PORT: String(await freePort()), MQTTS_PORT: 'off', HTTP_PORT: String(await freePort()), HTTP_TLS: 'dev', SIMULATORS: 'off', TSUNAGARU_ADMIN_TOKEN: TOKEN };
    const node = runNode(CMD, env);
    started.push(node);
    await waitFor('the start banner', () => (node.child.exitCode !== null ? Promise.reject(new Error(node.output())) : /REST API\s+https:/.test(node.output())), 60_000);
    expect(await probe(HEALTHCHECK, env)).toEqual({ code: 0, out: 'api: ok\n' });
    expect((await probe(HEALTHCHECK, { ...env, HTTP_TLS: 'off' })).code).toBe(1); // plain HTTP to an HTTPS port
    await stopCleanly(node);
    await nothingLeft(dataDir);
  });

  it('the compose broker node and ingest: healthy by their probes, a device through both, both stop cleanly on SIGTERM', { timeout: 120_000 }, async () => {
    const dataDir = tempDir('compiled-pair');
    const mqttPort = await freePort();
    const brokerEnv = { DATA_DIR: dataDir, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), LOG_LEVEL: 'info' };
    const ingestEnv = { DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, MQTT_USERNAME: 'tsunagaru-ingest', MQTT_PASSWORD: 'ingest-mqtt-password-0123456789', TSUNAGARU_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' };
    // The broker reads the registry the ingest writes (read-only, followed live), so it may start first.
    const broker = runNode(compose['broker-1']!.command!, brokerEnv);
    started.push(broker);
    await waitFor('the broker', () => (broker.child.exitCode !== null ? Promise.reject(new Error(broker.output())) : /"event":"broker_ready"/.test(broker.output())), 60_000);
    const ingest = runNode(compose.ingest!.command!, ingestEnv);
    started.push(ingest);
    await waitFor('the ingest', () => (ingest.child.exitCode !== null ? Promise.reject(new Error(ingest.output())) : /"event":"ingest_started"/.test(ingest.output())), 60_000);

    expect(await probe(healthTest('broker-1'), brokerEnv)).toEqual({ code: 0, out: 'mqtt: answered (CONNACK 1)\n' });
    expect(await probe(healthTest('ingest'), ingestEnv)).toMatchObject({ code: 0 });
    // The MQTT probe logs in as nobody: nothing the lockouts or the denial log would count.
    expect(broker.output()).not.toMatch(/mqtt_denied/);

    const api = apiClient(`http://127.0.0.1:${ingestEnv.HTTP_PORT}`, TOKEN);
    await waitFor('the ingest connected to the broker', async () => (await api.get('/api/v1/health')).body.mqtt?.connected === true, 30_000);
    const res = await api.post('/api/v1/devices', { id: 'pole-compiled-1', type: 'smart-pole', attributes: { site: 'nishi-shinjuku' } });
    expect(res.status).toBe(201);
    await waitFor('the broker to follow the registry', async () => (await tryConnect(`mqtt://127.0.0.1:${mqttPort}`, 'pole-compiled-1', res.body.secret)) === 'connected', 10_000);
    const device = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, 'pole-compiled-1', res.body.secret);
    const ts = Date.now() - 60_000;
    await device.publishAsync('tsunagaru/v1/smart-pole/pole-compiled-1/telemetry', telemetryPayload('pole-compiled-1', 0, [{ ts, cabinetTempC: 31.5 }]), { qos: 1 });
    await device.endAsync();
    const reading = await waitFor('the reading', async () => ((await api.get(`/api/v1/devices/pole-compiled-1/readings?from=${ts - 1}`)).body.readings as Array<{ cabinetTempC: number }>)[0]);
    expect(reading.cabinetTempC).toBe(31.5);

    const ingestMs = await stopCleanly(ingest);
    expect(ingest.output()).toMatch(/"event":"ingest_stopping","signal":"SIGTERM"/);
    const brokerMs = await stopCleanly(broker);
    await nothingLeft(dataDir);
    expect(broker.output()).toMatch(/"event":"broker_stopping","signal":"SIGTERM"/);
    expect((await probe(healthTest('broker-1'), brokerEnv)).code).toBe(1);
    console.log(`[compiled broker + ingest] healthy, served a device; stopped ${ingestMs} ms (ingest) and ${brokerMs} ms (broker) after SIGTERM`);
  });

  it('SIGTERM to the single node while devices publish at QoS 1: clean stop, nothing left, every acknowledged message stored after a restart', { timeout: 240_000 }, async () => {
    const report = await sigtermUnderLoad(tempDir('compiled-sigterm'), (env) => runNode(CMD, env), (r) => started.push(r));
    console.log(`[compiled single node, SIGTERM to node] ${report.total} QoS 1 messages, ${report.ackedAtSignal} acknowledged at the signal; stopped cleanly in ${report.stopMs} ms; after the restart ${report.acked} acknowledged, ${report.stored} stored, each once`);
  });
});
