/**
 * What a client that never logs in, or logs in with absurd input, can make the broker hold or write:
 * sockets per address, sockets overall, time before CONNECT, client id length, and log lines.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BrokerOptions } from '../src/broker.js';
import { connect, denials, tryConnect } from './helpers.js';
import { startTestBroker, type TestBroker } from './fixture.js';

describe('connection limits (live)', () => {
  let t: TestBroker | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t?.stop();
    t = undefined;
  });
  const start = (options: Partial<BrokerOptions>) => startTestBroker(options);

  /** A raw TCP socket from `from` that never says anything; resolves once connected. */
  async function idle(from: string): Promise<Socket> {
    const s = netConnect({ port: t!.port, host: '127.0.0.1', localAddress: from });
    sockets.push(s);
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    return s;
  }
  const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

  it('closes a socket that sends no CONNECT within the timeout', async () => {
    t = await start({ connectTimeoutMs: 300 });
    const s = await idle('127.0.0.5');
    await closed(s);
    await vi.waitFor(() => expect(t!.broker.stats().sockets).toBe(0));
  });

  it('caps sockets waiting to log in per source address; logged-in sessions do not count', async () => {
    t = await start({ maxUnauthenticatedPerAddress: 2 });
    const first = await idle('127.0.0.5');
    await idle('127.0.0.5');
    await vi.waitFor(() => expect(t!.broker.stats().socketsWaitingForLogin).toBe(2));
    const third = await idle('127.0.0.5');
    await closed(third);
    expect(denials(t.lines, 'too_many_connections')[0]).toMatchObject({ remoteAddress: '127.0.0.5', detail: expect.stringContaining('not logged in yet') });
    expect((await tryConnect(t.port, t.pole, { from: '127.0.0.5' })).error).toBeDefined(); // the device there waits its turn
    await connect(t.port, t.meter, { from: '127.0.0.6' }); // other addresses are not affected
    first.destroy();
    await vi.waitFor(() => expect(t!.broker.stats().socketsWaitingForLogin).toBe(1));
    await connect(t.port, t.pole, { from: '127.0.0.5' });
    await idle('127.0.0.5'); // the logged-in device leaves room: one idle + this one = 2
    expect(t.broker.stats()).toMatchObject({ socketsWaitingForLogin: 2, connections: 2 });
  });

  it('at the socket cap, a device takes the place of the oldest socket waiting to log in', async () => {
    t = await start({ maxConnections: 3 });
    const oldest = await idle('127.0.0.5');
    await idle('127.0.0.6');
    await idle('127.0.0.7');
    await new Promise((r) => setTimeout(r, 1100)); // each socket gets a second before it can be replaced
    await connect(t.port, t.pole, { from: '127.0.0.8' });
    await closed(oldest);
    expect(t.broker.stats()).toMatchObject({ socketsReplaced: 1, sockets: 3, connections: 1 });
    expect(t.lines.find((l) => l.event === 'mqtt_socket_replaced')).toMatchObject({ remoteAddress: '127.0.0.5' });
  });

  it('refuses a client id longer than the bound with CONNACK 2, before checking the secret', async () => {
    t = await start({});
    const longest = `pole-01:${'x'.repeat(128 - 8)}`;
    await connect(t.port, { ...t.pole, clientId: longest });
    expect((await tryConnect(t.port, { ...t.pole, clientId: `${longest}y` })).error?.code).toBe(2);
    expect((await tryConnect(t.port, { ...t.pole, password: 'not-even-checked-0000', clientId: `pole-01:${'x'.repeat(65_000)}` })).error?.code).toBe(2);
    const refused = denials(t.lines, 'client_id_rejected');
    expect(refused).toHaveLength(2);
    expect(refused[1]).toMatchObject({ detail: 'client id of 65008 characters; at most 128' });
    expect(String(refused[1]!.clientId).length).toBeLessThanOrEqual(257);
    expect(t.broker.stats().denials.bad_secret).toBe(0);
  });

  it('one address reconnecting with a 65 KB client id writes a bounded, truncated log and counts the rest', async () => {
    const now = Date.now();
    t = await start({ connectionLog: { linesPerAddressPerMinute: 20 }, clock: () => now }); // a stopped clock: no refill during the test
    const huge = `pole-01:${'x'.repeat(65_000)}`;
    for (let i = 0; i < 200; i++) expect((await tryConnect(t.port, { ...t.pole, clientId: huge }, { from: '127.0.0.9' })).error?.code).toBe(2);
    const stats = t.broker.stats();
    expect(stats.denials.client_id_rejected).toBe(200); // every refusal counted
    const fromThere = t.raw.filter((l) => l.includes('127.0.0.9'));
    expect(fromThere.length).toBeLessThanOrEqual(20);
    expect(fromThere.every((l) => l.length < 2000)).toBe(true);
    expect(stats.logLinesDropped).toBeGreaterThanOrEqual(180);
    // Another address still gets its lines, and the drop is summarised for the operator.
    await connect(t.port, t.meter, { from: '127.0.0.10' });
    expect(t.lines.some((l) => l.event === 'mqtt_connected' && l.remoteAddress === '127.0.0.10')).toBe(true);
    await t.broker.close();
    const summary = t.lines.find((l) => l.event === 'mqtt_log_dropped') as { dropped?: number; top?: Array<{ remoteAddress: string }> } | undefined;
    expect(summary?.dropped).toBe(stats.logLinesDropped);
    expect(summary?.top?.[0]?.remoteAddress).toBe('127.0.0.9');
  });
});
