/**
 * Credential lifecycle end to end, over real connections: a device's open MQTT session is closed the
 * moment the API (or the `npm run devices` CLI, another process writing the shared registry file)
 * rotates its secret, disables or revokes it; the old secret is refused after; every change is in the
 * audit log with who and when.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import type { MqttClient } from 'mqtt';
import { connectDevice, T0, telemetryPayload, tryConnect } from './support/device-client.js';
import { startStack, type Stack } from './support/stack.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);

function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('revocation takes effect on an open connection', () => {
  const dir = makeTempDir('revocation');
  let registry: FileDeviceRegistry;
  let stack: Stack;
  const secrets: Record<string, string> = {};
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/devices.ts', ...args], { env: { ...process.env, DATA_DIR: dir.path }, cwd: process.cwd() });

  beforeAll(async () => {
    // The broker and ingest share this file registry; the CLI writes the same file from another process.
    registry = await FileDeviceRegistry.open({ path: registryPathFor(dir.path), scryptN: 1024, watchDebounceMs: 10 });
    stack = await startStack({ registry, dataDir: dir.path });
    for (const id of ['wm-rot-01', 'wm-dis-01', 'wm-rev-01', 'wm-cli-01']) {
      const res = await stack.api.post('/api/v1/devices', { id, type: 'water-meter', attributes: { dma: 'nakano-3' } });
      expect(res.status).toBe(201);
      secrets[id] = res.body.secret;
    }
  });
  afterAll(async () => {
    await stack?.close();
    await registry?.close();
    dir.remove();
  });

  it('rotate-secret through the API closes the live session; only the new secret works after', async () => {
    const live = await connectDevice(stack.mqttUrl, 'wm-rot-01', secrets['wm-rot-01']!);
    const closed = closedWithin(live, 3000);
    const res = await stack.api.post('/api/v1/devices/wm-rot-01/rotate-secret', {});
    expect(res.status).toBe(200);
    expect(await closed).toBe(true);
    expect(await tryConnect(stack.mqttUrl, 'wm-rot-01', secrets['wm-rot-01']!)).toBe(4);
    expect(await tryConnect(stack.mqttUrl, 'wm-rot-01', res.body.secret)).toBe('connected');
  });

  it('disable through the API closes the live session and refuses logins until enabled', async () => {
    const live = await connectDevice(stack.mqttUrl, 'wm-dis-01', secrets['wm-dis-01']!);
    const closed = closedWithin(live, 3000);
    expect((await stack.api.post('/api/v1/devices/wm-dis-01/disable', {})).status).toBe(200);
    expect(await closed).toBe(true);
    expect(await tryConnect(stack.mqttUrl, 'wm-dis-01', secrets['wm-dis-01']!)).toBe(5);
    expect((await stack.api.post('/api/v1/devices/wm-dis-01/enable', {})).status).toBe(200);
    expect(await tryConnect(stack.mqttUrl, 'wm-dis-01', secrets['wm-dis-01']!)).toBe('connected');
  });

  it('revoke through the API closes the live session; the old secret is dead even after enabling', async () => {
    const live = await connectDevice(stack.mqttUrl, 'wm-rev-01', secrets['wm-rev-01']!);
    const closed = closedWithin(live, 3000);
    expect((await stack.api.post('/api/v1/devices/wm-rev-01/revoke', {})).body).toMatchObject({ revoked: true });
    expect(await closed).toBe(true);
    expect((await stack.api.post('/api/v1/devices/wm-rev-01/enable', {})).status).toBe(200);
    expect(await tryConnect(stack.mqttUrl, 'wm-rev-01', secrets['wm-rev-01']!)).toBe(4);
  });

  it('revoke through the CLI (another process) closes the live session while it is publishing', async () => {
    const live = await connectDevice(stack.mqttUrl, 'wm-cli-01', secrets['wm-cli-01']!);
    const topic = buildTopic('water-meter', 'wm-cli-01', 'telemetry');
    await live.publishAsync(topic, telemetryPayload('wm-cli-01', 0, [{ ts: T0, indexL: 1 }]), { qos: 1 });
    const closed = closedWithin(live, 5000);
    const { stdout } = await cli('revoke', 'wm-cli-01');
    expect(stdout).toContain('revoked wm-cli-01');
    expect(await closed).toBe(true);
    expect(stack.broker!.stats().revocations.device_disabled).toBeGreaterThanOrEqual(2);
    expect(await tryConnect(stack.mqttUrl, 'wm-cli-01', secrets['wm-cli-01']!)).toBe(4);
  });

  it('a device added by the CLI logs in and is stored by the running ingest', async () => {
    const { stdout } = await cli('add', 'bs-cli-02', 'bs-power', '--attr', 'site=tocho');
    const secret = /secret\s+(\S+)/.exec(stdout)![1]!;
    await waitFor('the broker to see the CLI-provisioned device', () => registry.getDevice('bs-cli-02'), 5000);
    const c = await connectDevice(stack.mqttUrl, 'bs-cli-02', secret);
    await c.publishAsync(buildTopic('bs-power', 'bs-cli-02', 'telemetry'), telemetryPayload('bs-cli-02', 0, [{ ts: T0, batterySocPct: 90 }]), { qos: 1 });
    await c.endAsync();
    await waitFor('the reading', async () => (await stack.api.get('/api/v1/devices/bs-cli-02')).body.latest?.batterySocPct);
  });

  it('audits every change with who (token or OS user) and when', async () => {
    const entries = (await stack.api.get('/api/v1/audit?limit=50')).body.entries as Array<{ action: string; target: string; actor: { kind: string } }>;
    const seen = entries.map((e) => `${e.actor.kind} ${e.action} ${e.target}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'token device.provision wm-rot-01',
        'token device.rotate-secret wm-rot-01',
        'token device.disable wm-dis-01',
        'token device.enable wm-dis-01',
        'token device.revoke wm-rev-01',
        'cli device.revoke wm-cli-01',
        'cli device.provision bs-cli-02',
      ]),
    );
  });
});
