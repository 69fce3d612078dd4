/**
 * The README's main command, as a person runs it: `npm start` in a fresh DATA_DIR brings up broker,
 * ingest, API and simulators with nothing external, prints where to look, serves readings, and stops
 * cleanly on Ctrl-C (SIGINT to the process group, as a terminal sends it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

describe('npm start', () => {
  const dir = makeTempDir('npm-start');
  let child: ChildProcess | undefined;
  afterAll(() => {
    // Only if the test failed before the clean stop: take the whole process group down.
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    dir.remove();
  });

  it('runs the whole system, shows readings through the API, and shuts down cleanly on Ctrl-C', async () => {
    const env = { ...process.env, DATA_DIR: dir.path, MQTT_PORT: '0', MQTTS_PORT: '0', HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: '', LOG_LEVEL: 'info' };
    child = spawn('npm', ['start', '--silent'], { cwd: process.cwd(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));

    const banner = await waitFor('the start banner', () => /API token\s+(\S+)/.test(out) && /REST API\s+(\S+)/.test(out), 60_000);
    expect(banner).toBe(true);
    const token = /API token\s+(\S+)/.exec(out)![1]!;
    const apiBase = /REST API\s+(http:\/\/\S+)\/api\/v1/.exec(out)![1]!;
    expect(out).toMatch(/MQTT broker\s+mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/MQTT \(TLS\)\s+mqtts:\/\/localhost:\d+/); // development certificate generated in DATA_DIR/tls
    expect(out).toMatch(/API docs\s+http:\/\/127\.0\.0\.1:\d+\/api\/docs/);
    const api = apiClient(apiBase, token);

    const devices = await waitFor('every simulated device online with a first reading', async () => {
      const list = (await api.get('/api/v1/devices')).body.devices as Array<{ id: string; status: { online: boolean; lastSeen: number | null } }>;
      return list.length >= 10 && list.every((d) => d.status.online && d.status.lastSeen) ? list : undefined;
    }, 60_000);
    const meter = devices.find((d) => d.id.startsWith('wm-')) ?? devices[0]!;
    // Online comes with the birth; its first reading is stored a moment later.
    const readings = await waitFor('a first reading of the meter', async () => {
      const body = (await api.get(`/api/v1/devices/${meter.id}/readings`)).body;
      return body.count > 0 ? body : undefined;
    }, 30_000);
    expect(readings.count).toBeGreaterThan(0);
    expect((await api.get('/api/v1/dead-letters')).body.total).toBe(0);
    expect((await fetch(`${apiBase}/api/v1/devices`)).status).toBe(401);

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
    process.kill(-child.pid!, 'SIGINT');
    const { code, signal } = await exited;
    // Our process exits 0 after closing everything; npm then re-raises the SIGINT it was sent, as it does
    // in a terminal, so npm's own status is either 0 or that signal, never an error code.
    expect(out).toContain('stopped cleanly');
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(out).not.toMatch(/tsunagaru: |Error:/);
  }, 120_000);

  it('as the production entry point: SIMULATORS=off and LOG_FILE=- give no fleet and JSON logs on stdout; the broker limits come from the environment', async () => {
    const prodDir = makeTempDir('npm-start-prod');
    // MQTT_MAX_CLIENT_ID_LENGTH: one of the broker's limits (broker/README.md), read by start.ts as by `npm run broker`.
    const env = { ...process.env, DATA_DIR: prodDir.path, MQTT_PORT: '0', HTTP_PORT: '0', MQTTS_PORT: 'off', SIMULATORS: 'off', LOG_FILE: '-', TSUNAGARU_ADMIN_TOKEN: 'production-token-0123456789', MQTT_MAX_CLIENT_ID_LENGTH: '24', BROKER_ID: 'tsunagaru-east-1' };
    const prod = spawn('npx', ['tsx', 'scripts/start.ts'], { cwd: process.cwd(), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    prod.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    prod.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the start banner', () => /REST API\s+http/.test(out), 60_000);
      expect(out).toMatch(/Simulators\s+off/);
      const jsonLines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(jsonLines.length).toBeGreaterThan(0);
      // BROKER_ID, as `npm run broker` takes it, names this node.
      expect(jsonLines).toContainEqual(expect.objectContaining({ event: 'broker_ready', brokerId: 'tsunagaru-east-1' }));
      const api = apiClient(/REST API\s+(http:\/\/\S+)\/api\/v1/.exec(out)![1]!, 'production-token-0123456789');
      expect((await api.get('/api/v1/devices')).body.devices).toEqual([]);
      // A 25-character client id: refused as too long (2), before the unknown credentials (which would be 4).
      const mqttUrl = /MQTT broker\s+(mqtt:\/\/\S+)/.exec(out)![1]!;
      const code = await new Promise<number | undefined>((resolve) => {
        const c = mqtt.connect(mqttUrl, { clientId: 'x'.repeat(25), username: 'nobody', password: 'nothing-at-all-000', reconnectPeriod: 0, protocolVersion: 4 });
        c.once('connect', () => resolve(0));
        c.once('error', (err) => resolve((err as { code?: number }).code));
        c.once('close', () => resolve(undefined));
      });
      expect(code).toBe(2);
    } finally {
      // 'close' (every process holding the pipes is gone), not npx's own 'exit': npx does not wait.
      const closed = new Promise((resolve) => prod.once('close', resolve));
      process.kill(-prod.pid!, 'SIGTERM');
      await closed;
      prodDir.remove();
    }
    expect(out).toContain('stopped cleanly');
  }, 90_000);

  it('checks every variable before anything starts, naming the one at fault: the broker\'s as `npm run broker` does', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ MQTT_MAX_CONNECTIONS: 'lots' }, /MQTT_MAX_CONNECTIONS: must be a non-negative integer, got "lots"/],
      [{ MQTT_DEVICE_MSGS_PER_SEC: '-1' }, /MQTT_DEVICE_MSGS_PER_SEC: must be a non-negative integer/],
      [{ BROKER_ID: 'east 1' }, /BROKER_ID: must be 1-128 letters/],
      [{ BROKER_REDIS_URL: 'redis://redis:6379' }, /BROKER_REDIS_URL: `npm start` is one node/],
      [{ SIMULATORS: 'maybe' }, /SIMULATORS: must be on or off, got "maybe"/],
      [{ HTTP_PORT: 'eighty' }, /HTTP_PORT: must be a port number/],
    ];
    for (const [bad, message] of cases) {
      const badDir = makeTempDir('npm-start-bad');
      const env = { ...process.env, DATA_DIR: badDir.path, MQTT_PORT: '0', HTTP_PORT: '0', MQTTS_PORT: 'off', SIMULATORS: 'off', ...bad };
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      badDir.remove();
      expect(code, JSON.stringify(bad)).toBe(1);
      expect(err, JSON.stringify(bad)).toMatch(message);
    }
  }, 60_000);
});
