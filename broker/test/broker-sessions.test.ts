/**
 * Persistent sessions (clean session off) and the commands queued for them: one device cannot hold
 * many persistent sessions, and an absent session's queue keeps only the newest commands.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrokerOptions } from '../src/broker.js';
import { collectMessages, connect, subscribeGranted, tryConnect, waitForClose } from './helpers.js';
import { INGEST, startTestBroker, type TestBroker } from './fixture.js';

const POLE_CMD = 'tsunagaru/v1/smart-pole/pole-01/cmd';

describe('device persistent sessions (live)', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });
  const start = (options: Partial<BrokerOptions>) => startTestBroker(options);

  /** The pole's persistent session `clientId`: connects, subscribes to its commands, and leaves. */
  async function persistentSession(clientId: string): Promise<void> {
    const c = await connect(t!.port, { ...t!.pole, clientId, clean: false });
    expect(await subscribeGranted(c, POLE_CMD, 1)).toEqual([1]);
    await c.endAsync();
  }

  async function ingest(): Promise<MqttClient> {
    return connect(t!.port, { ...INGEST, clientId: 'ingest' });
  }

  /** Reconnects a persistent session and returns whether the broker kept it and what it was holding. */
  async function resume(clientId: string): Promise<{ sessionPresent: boolean; commands: string[] }> {
    const { error, sessionPresent, received } = await tryConnect(t!.port, { ...t!.pole, clientId, clean: false });
    if (error) throw error;
    await new Promise((r) => setTimeout(r, 300));
    return { sessionPresent: sessionPresent ?? false, commands: received.map((m) => m.payload.toString()) };
  }

  it('keeps one persistent session per device: twenty client ids leave one session holding commands', async () => {
    t = await start({});
    for (let i = 0; i < 20; i++) await persistentSession(`pole-01:s${i}`);
    expect(t.broker.stats().sessions).toMatchObject({ persistentSessions: 1, sessionsEnded: 19 });
    const cmd = await ingest();
    await cmd.publishAsync(POLE_CMD, '{"v":1,"cmdId":"c1","name":"ping","ts":1}', { qos: 1 });
    expect(await resume('pole-01:s19')).toEqual({ sessionPresent: true, commands: ['{"v":1,"cmdId":"c1","name":"ping","ts":1}'] });
    expect(await resume('pole-01:s0')).toEqual({ sessionPresent: false, commands: [] });
    expect(t.lines.filter((l) => l.event === 'mqtt_session_ended')).toHaveLength(19);
  });

  it('closes a connected older persistent session when the device opens another', async () => {
    t = await start({});
    const older = await connect(t.port, { ...t.pole, clientId: 'pole-01:a', clean: false });
    await subscribeGranted(older, POLE_CMD, 1);
    const gone = waitForClose(older);
    const newer = await connect(t.port, { ...t.pole, clientId: 'pole-01:b', clean: false });
    await subscribeGranted(newer, POLE_CMD, 1);
    await gone;
    expect(newer.connected).toBe(true);
  });

  it('allows more persistent sessions per device when configured', async () => {
    t = await start({ sessionLimits: { maxPersistentPerDevice: 3 } });
    for (let i = 0; i < 5; i++) await persistentSession(`pole-01:s${i}`);
    expect(t.broker.stats().sessions).toMatchObject({ persistentSessions: 3, sessionsEnded: 2 });
  });

  it('keeps the newest commands for an absent session, in order, and drops the oldest beyond the bound', async () => {
    t = await start({ sessionLimits: { maxQueuedPerSession: 5 } });
    await persistentSession('pole-01');
    const cmd = await ingest();
    for (let i = 1; i <= 8; i++) await cmd.publishAsync(POLE_CMD, `{"v":1,"cmdId":"c${i}","name":"ping","ts":${i}}`, { qos: 1 });
    const { commands } = await resume('pole-01');
    expect(commands.map((c) => (JSON.parse(c) as { cmdId: string }).cmdId)).toEqual(['c4', 'c5', 'c6', 'c7', 'c8']);
    expect(t.broker.stats().sessions.commandsDropped).toBe(3);
    expect(t.lines.filter((l) => l.event === 'mqtt_queue_trimmed').length).toBeGreaterThan(0);
  });

  it('does not limit the ingest service: its absent session keeps every message', async () => {
    t = await start({ sessionLimits: { maxQueuedPerSession: 5, maxPersistentPerDevice: 1 } });
    const first = await connect(t.port, { ...INGEST, clientId: 'ingest:a', clean: false });
    await subscribeGranted(first, 'tsunagaru/v1/#', 1);
    const second = await connect(t.port, { ...INGEST, clientId: 'ingest:b', clean: false });
    await subscribeGranted(second, 'tsunagaru/v1/#', 1);
    await first.endAsync();
    const pole = await connect(t.port, t.pole);
    for (let i = 0; i < 12; i++) await pole.publishAsync('tsunagaru/v1/smart-pole/pole-01/telemetry', `{"n":${i}}`, { qos: 1 });
    const back = await tryConnect(t.port, { ...INGEST, clientId: 'ingest:a', clean: false });
    await vi.waitFor(() => expect(back.received).toHaveLength(12));
    expect(second.connected).toBe(true);
  });
});
