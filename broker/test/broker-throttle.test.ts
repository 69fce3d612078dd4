import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrokerOptions } from '../src/broker.js';
import { connect, denials, tryConnect, waitForClose } from './helpers.js';
import { POLE_TELEMETRY, startTestBroker, type TestBroker } from './fixture.js';

describe('broker throttles (live)', () => {
  let t: TestBroker | undefined;
  let now = Date.UTC(2026, 10, 23);
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t?.stop();
    t = undefined;
  });
  const start = (options: Partial<BrokerOptions>) => startTestBroker({ clock: () => now, ...options });

  /** Counts registry lookups: a throttled login must be refused before the registry (and scrypt) is touched. */
  function countLookups(b: TestBroker): () => number {
    let n = 0;
    const original = b.registry.getService.bind(b.registry);
    b.registry.getService = (u: string) => (n++, original(u));
    return () => n;
  }

  it('locks an (identity, address) pair after repeated wrong secrets, refusing even the right one from there without checking it, until the lockout ends', async () => {
    t = await start({ authThrottle: { maxFailuresPerPair: 5, maxFailuresPerAddress: 1000, lockoutMs: 30_000 } });
    for (let i = 0; i < 5; i++) expect((await tryConnect(t.port, { ...t.pole, password: `wrong-secret-number-${i}` })).error?.code).toBe(4);
    const lookups = countLookups(t);
    const before = lookups();
    expect((await tryConnect(t.port, t.pole)).error?.code).toBe(3);
    expect(lookups()).toBe(before); // no registry lookup, so no scrypt either
    expect(denials(t.lines, 'auth_throttled')[0]).toMatchObject({ username: 'pole-01', detail: expect.stringContaining('identity locked out') });
    expect(t.broker.stats().throttle.lockedPairs).toBe(1);
    // Another device from the same address is not affected by pole-01's lockout.
    await connect(t.port, t.meter);
    now += 30_001;
    await connect(t.port, t.pole);
    expect(t.broker.stats().throttle.lockedPairs).toBe(0);
  });

  it('locks a source address that guesses many usernames, for every identity from it', async () => {
    t = await start({ authThrottle: { maxFailuresPerPair: 1000, maxFailuresPerAddress: 8 } });
    for (let i = 0; i < 8; i++) await tryConnect(t.port, { username: `guess-${i}`, password: 'a-guessed-secret-000', clientId: `guess-${i}` });
    expect((await tryConnect(t.port, t.meter)).error?.code).toBe(3);
    expect(denials(t.lines, 'auth_throttled')[0]).toMatchObject({ remoteAddress: '127.0.0.1', detail: expect.stringContaining('address locked out') });
    expect(t.broker.stats().denials.unknown_username).toBe(8);
    expect(t.broker.stats().throttle.lockedAddresses).toBe(1);
  });

  it('does not lock out, for its address, a device that logged in recently (a fleet behind one carrier NAT)', async () => {
    t = await start({ authThrottle: { maxFailuresPerPair: 1000, maxFailuresPerAddress: 4 } });
    await (await connect(t.port, t.pole)).endAsync();
    for (let i = 0; i < 4; i++) await tryConnect(t.port, { username: `guess-${i}`, password: 'a-guessed-secret-000', clientId: `guess-${i}` });
    expect((await tryConnect(t.port, t.meter)).error?.code).toBe(3); // never seen: refused while the address is locked
    await connect(t.port, t.pole); // known good: let through to its own secret check
  });

  it('counts every throttled attempt but logs a flood once per interval', async () => {
    t = await start({ authThrottle: { maxFailuresPerPair: 1, maxFailuresPerAddress: 1000 } });
    await tryConnect(t.port, { ...t.pole, password: 'wrong-secret-000000' });
    for (let i = 0; i < 20; i++) await tryConnect(t.port, t.pole);
    expect(t.broker.stats().denials.auth_throttled).toBe(20);
    expect(denials(t.lines, 'auth_throttled')).toHaveLength(1);
  });

  it('limits a device\'s message rate: over the burst, the publish is refused and the session closed', async () => {
    t = await start({ publishLimits: { messagesPerSecond: 1, burstMessages: 5 } });
    const pole = await connect(t.port, t.pole);
    for (let i = 0; i < 5; i++) await pole.publishAsync(POLE_TELEMETRY, `{"n":${i}}`, { qos: 1 });
    const closed = waitForClose(pole);
    pole.publish(POLE_TELEMETRY, '{"n":5}', { qos: 1 });
    await closed;
    expect(denials(t.lines, 'publish_rate_exceeded')[0]).toMatchObject({ username: 'pole-01', topic: POLE_TELEMETRY, detail: 'more than 1 messages/s (burst 5)' });
    // The bucket refills with time: 2 s later, 2 more messages pass (all sessions of a device share one bucket).
    now += 2000;
    const again = await connect(t.port, { ...t.pole, clientId: 'pole-01:b' });
    await again.publishAsync(POLE_TELEMETRY, '{"n":6}', { qos: 1 });
    await again.publishAsync(POLE_TELEMETRY, '{"n":7}', { qos: 1 });
    expect(again.connected).toBe(true);
  });

  it('limits a device\'s byte rate', async () => {
    t = await start({ maxPayloadBytes: 1000, publishLimits: { messagesPerSecond: 1000, burstMessages: 1000, bytesPerSecond: 10, burstBytes: 2000 } });
    const pole = await connect(t.port, t.pole);
    await pole.publishAsync(POLE_TELEMETRY, Buffer.alloc(900, 0x61), { qos: 1 });
    await pole.publishAsync(POLE_TELEMETRY, Buffer.alloc(900, 0x61), { qos: 1 });
    const closed = waitForClose(pole);
    pole.publish(POLE_TELEMETRY, Buffer.alloc(900, 0x61), { qos: 1 });
    await closed;
    expect(t.broker.stats().denials.publish_rate_exceeded).toBe(1);
  });

  it('refuses a burst limit smaller than one full-size message, naming the option', async () => {
    await expect(start({ publishLimits: { burstBytes: 1000 } })).rejects.toMatchObject({ code: 'BROKER_ERR_CONFIG', message: expect.stringContaining('publishLimits.burstBytes') });
  });

  it('caps open sockets: one over the limit is closed at once and counted; a freed slot is usable again', async () => {
    t = await start({ maxConnections: 3 });
    const open = async () => {
      const s = netConnect(t!.port, '127.0.0.1');
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      return s;
    };
    const first = await open();
    await open();
    await open();
    await vi.waitFor(() => expect(t!.broker.stats().sockets).toBe(3));
    const fourth = await open();
    await new Promise((r) => fourth.once('close', r));
    expect(t.broker.stats().denials.too_many_connections).toBe(1);
    first.destroy();
    await vi.waitFor(() => expect(t!.broker.stats().sockets).toBe(2));
    await connect(t.port, t.pole);
  });
});
