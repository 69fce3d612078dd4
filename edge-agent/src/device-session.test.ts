import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, validateMessage, type SmartPoleSample } from '@tsunagaru/firmware-contracts';
import { connectAsync } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceSession } from './device-session.js';
import { isEdgeAgentError } from './errors.js';
import { FileIdentityStore, MemoryIdentityStore, type IdentityStore } from './identity-store.js';
import type { DeviceSessionOptions } from './session-options.js';
import { collectMessages, startTestBroker, type CollectedMessage, type MessageCollector, type TestBroker } from './testing/index.js';

const T0 = 1_750_000_000_000;
const stateTopic = buildTopic('smart-pole', 'pole-t1', 'state');
const sample = (i: number): SmartPoleSample => ({ ts: T0 + i * 60_000, airTempC: 20 + i / 10, peopleCount: i });

let broker: TestBroker;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await broker.close();
});

function session(overrides: Partial<DeviceSessionOptions<'smart-pole'>> = {}, identity: IdentityStore = new MemoryIdentityStore()): DeviceSession<'smart-pole'> {
  const s = new DeviceSession({
    url: broker.url,
    deviceId: 'pole-t1',
    type: 'smart-pole',
    secret: 'not-checked-by-this-broker',
    fw: '1.2.0',
    model: 'NSP-2021',
    sampleSec: 60,
    identity,
    clock: () => T0,
    reconnectPeriodMs: 100,
    startTimeoutMs: 5_000,
    ...overrides,
  });
  cleanups.push(() => s.stop({ graceful: false }));
  return s;
}

async function collector(filter: string): Promise<MessageCollector> {
  const c = await collectMessages(broker.url, filter);
  cleanups.push(() => c.close());
  return c;
}

const isState = (state: string) => (m: CollectedMessage) => (m.json as { state?: string } | undefined)?.state === state;

describe('DeviceSession against a real broker', () => {
  it('publishes a retained, contract-valid birth on connect', async () => {
    const s = session();
    await s.start();
    expect(s.connected).toBe(true);
    const late = await collector(stateTopic);
    const birth = await late.waitFor(isState('online'));
    expect(birth.retain).toBe(true);
    expect(birth.json).toEqual({ v: 1, id: 'pole-t1', state: 'online', boot: 0, ts: T0, fw: '1.2.0', model: 'NSP-2021', sampleSec: 60 });
    expect(validateMessage(birth.topic, birth.text).ok).toBe(true);
  });

  it('leaves its will (death, same boot) when killed', async () => {
    const s = session({}, new MemoryIdentityStore({ firstBoot: 5 }));
    await s.start();
    const watcher = await collector(stateTopic);
    await watcher.waitFor(isState('online'));
    await s.stop({ graceful: false });
    const death = await watcher.waitFor(isState('offline'));
    expect(death.json).toEqual({ v: 1, id: 'pole-t1', state: 'offline', boot: 5 });
    const late = await collector(stateTopic);
    expect((await late.waitFor(() => true)).json).toMatchObject({ state: 'offline', boot: 5 });
  });

  it('publishes its own death, with ts, on a graceful stop', async () => {
    const s = session();
    await s.start();
    await s.stop();
    expect(s.state).toBe('stopped');
    const late = await collector(stateTopic);
    const death = await late.waitFor(() => true);
    expect(death.json).toEqual({ v: 1, id: 'pole-t1', state: 'offline', boot: 0, ts: T0 });
  });

  it('numbers telemetry and events with one strictly increasing seq', async () => {
    const s = session();
    await s.start();
    const sink = await collector('tsunagaru/v1/smart-pole/pole-t1/+');
    const sent = [];
    for (let i = 0; i < 4; i++) {
      sent.push(await s.publishTelemetry([sample(i)]));
      if (i % 2 === 0) sent.push(await s.publishEvent(i === 0 ? 'door_open' : 'door_closed', { by: 'test' }, T0 + i * 60_000));
    }
    expect(sent.map((p) => p.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    const got = await sink.waitForCount((m) => !m.topic.endsWith('/state'), 6);
    expect(got.map((m) => (m.json as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const m of got) expect(validateMessage(m.topic, m.text)).toMatchObject({ ok: true });
  });

  it('refuses an invalid payload at the source without spending a seq', async () => {
    const s = session();
    await s.start();
    const bad = s.publishTelemetry([{ ts: T0, humidityPct: 140 }]);
    await expect(bad).rejects.toMatchObject({ code: 'EDGE_ERR_INVALID_PAYLOAD', message: expect.stringContaining('humidityPct') as unknown });
    expect((await s.publishTelemetry([sample(0)])).seq).toBe(0);
  });

  it('increments boot across restarts with a file identity store, seq restarting at 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-session-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const watcher = await collector(stateTopic);
    const boots: number[] = [];
    for (let run = 0; run < 3; run++) {
      const s = session({}, new FileIdentityStore({ dir, deviceId: 'pole-t1' }));
      await s.start();
      boots.push(s.boot ?? -1);
      expect((await s.publishTelemetry([sample(run)])).seq).toBe(0);
      expect((await s.publishTelemetry([sample(run + 1)])).seq).toBe(1);
      await s.stop({ graceful: run % 2 === 0 });
    }
    expect(boots).toEqual([0, 1, 2]);
    const births = await watcher.waitForCount(isState('online'), 3);
    expect(births.map((m) => (m.json as { boot: number }).boot)).toEqual([0, 1, 2]);
  });

  it('publishes the birth again after reconnecting', async () => {
    let cut = false;
    broker.broker.on('client', (client) => {
      if (client.id !== 'pole-t1' || cut) return;
      cut = true;
      setTimeout(() => client.conn.destroy(), 200).unref();
    });
    const s = session();
    const events: string[] = [];
    s.onEvent((e) => events.push(e.kind === 'connected' ? `connected${e.reconnect ? '-again' : ''}` : e.kind));
    const watcher = await collector(stateTopic);
    await s.start();
    const states = await watcher.waitForCount(() => true, 3);
    expect(states.map((m) => (m.json as { state: string }).state)).toEqual(['online', 'offline', 'online']);
    await expect.poll(() => events).toEqual(['connected', 'disconnected', 'connected-again']);
  });

  it('acks ping on its cmd topic and refuses what it cannot do yet', async () => {
    const s = session();
    await s.start();
    const acks = await collector(buildTopic('smart-pole', 'pole-t1', 'cmd/ack'));
    const operator = await connectAsync(broker.url, { clientId: 'operator', protocolVersion: 4 });
    cleanups.push(() => operator.endAsync());
    const cmdTopic = buildTopic('smart-pole', 'pole-t1', 'cmd');
    await operator.publishAsync(cmdTopic, JSON.stringify({ v: 1, cmdId: 'p-1', name: 'ping', ts: T0 }), { qos: 1 });
    await operator.publishAsync(cmdTopic, JSON.stringify({ v: 1, cmdId: 'r-1', name: 'reboot', ts: T0 }), { qos: 1 });
    const got = await acks.waitForCount(() => true, 2);
    const byId = Object.fromEntries(got.map((m) => [(m.json as { cmdId: string }).cmdId, m.json]));
    expect(byId['p-1']).toEqual({ v: 1, cmdId: 'p-1', ok: true, result: { boot: 0 }, ts: T0 });
    expect(byId['r-1']).toMatchObject({ ok: false });
    for (const m of got) expect(validateMessage(m.topic, m.text).ok).toBe(true);
  });

  it('rejects publishing before start and after stop', async () => {
    const s = session();
    await expect(s.publishTelemetry([sample(0)])).rejects.toMatchObject({ code: 'EDGE_ERR_NOT_STARTED' });
    await s.start();
    await s.stop();
    await expect(s.publishEvent('door_open')).rejects.toMatchObject({ code: 'EDGE_ERR_STOPPED' });
  });
});

describe('DeviceSession connection failures', () => {
  it('names the device and points at the secret when the broker says not authorized', async () => {
    broker.broker.authenticate = (_client, _username, _password, done) => {
      const err = Object.assign(new Error('bad secret'), { returnCode: 5 as const });
      done(err, null);
    };
    const s = session();
    const err: unknown = await s.start().catch((e: unknown) => e);
    expect(isEdgeAgentError(err, 'EDGE_ERR_NOT_AUTHORIZED')).toBe(true);
    expect((err as Error).message).toMatch(/pole-t1.*not authorized.*secret/s);
    expect((err as { canRetry(): boolean }).canRetry()).toBe(false);
    expect(s.state).toBe('idle');
  });

  it('gives up after startTimeoutMs when nothing listens, and says so', async () => {
    const url = broker.url;
    await broker.close();
    broker = await startTestBroker();
    const s = session({ url, startTimeoutMs: 400 });
    const err: unknown = await s.start().catch((e: unknown) => e);
    expect(isEdgeAgentError(err, 'EDGE_ERR_CONNECT_TIMEOUT')).toBe(true);
    expect((err as Error).message).toContain(url);
    expect((err as { canRetry(): boolean }).canRetry()).toBe(true);
  });

  it('cancels a start in progress when stopped', async () => {
    const url = broker.url;
    await broker.close();
    broker = await startTestBroker();
    const s = session({ url, startTimeoutMs: 10_000 });
    const starting = s.start();
    await new Promise((r) => setTimeout(r, 50));
    await s.stop();
    await expect(starting).rejects.toMatchObject({ code: 'EDGE_ERR_STOPPED' });
    expect(s.state).toBe('stopped');
  });

  it('validates options before connecting', () => {
    expect(() => session({ deviceId: 'bad id' })).toThrow(/deviceId/);
    expect(() => session({ sampleSec: 0 })).toThrow(/sampleSec/);
    expect(() => session({ secret: '' })).toThrow(/secret/);
    expect(() => session({ url: 'http://x' })).toThrow(/protocol/);
  });
});
