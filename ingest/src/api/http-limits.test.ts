/**
 * Slow and idle HTTP connections cannot use up the process's descriptors (issue 19: ~20k slow HTTP
 * connections took MQTT down with the API): connections are capped per client address and in all, and a
 * client that dribbles its headers is cut off. Real sockets on loopback (127.0.0.x are all this host).
 */
import { connect, type Socket } from 'node:net';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { defaultApiSettings, loadApiSettings } from './api-settings.js';
import { buildApp } from './app.js';

const TOKEN = 'http-limits-admin-token-0123456789';

describe('HTTP connection limits', () => {
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    store = await openEmbeddedStore(':memory:');
    app = await buildApp({
      registry: new MemoryDeviceRegistry({ scryptN: 1024 }),
      operations: store.api.operations,
      readings: store.api.readings,
      adminToken: TOKEN,
      settings: { ...defaultApiSettings(), maxConnections: 8, maxConnectionsPerAddress: 5, headersTimeoutMs: 1000, requestTimeoutMs: 2000 },
      health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
    });
    await app.listen({ port: 0, host: '0.0.0.0' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await app?.close();
    await store?.close();
  });

  /** A raw connection from `from`; resolves once connected, with how it ended (or 'open' after `waitMs`). */
  async function idle(from: string): Promise<Socket> {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('error', reject));
    return s;
  }
  const closedWithin = (s: Socket, ms: number) =>
    new Promise<boolean>((resolve) => {
      if (s.destroyed || s.readyState === 'closed') return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      s.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.on('error', () => undefined);
      s.resume();
    });
  const healthFrom = (from: string) =>
    new Promise<number>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, localAddress: from }, () => s.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', () => resolve(0));
      s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    });

  it('caps idle connections per address, then in all; the others are closed at once and the API stays up', async () => {
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await idle('127.0.0.2'));
    expect(await closedWithin(await idle('127.0.0.2'), 1000)).toBe(true);
    expect(await healthFrom('127.0.0.2')).toBe(0);
    // Another address still gets in, until the global cap (8) is reached.
    for (let i = 0; i < 3; i++) mine.push(await idle('127.0.0.3'));
    expect(await closedWithin(await idle('127.0.0.4'), 1000)).toBe(true);
    for (const s of mine) expect(s.destroyed).toBe(false);
    for (const s of mine) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(await healthFrom('127.0.0.2')).toBe(200);
  });

  it('cuts off a client that sends its headers a byte at a time', async () => {
    const slow = await idle('127.0.0.5');
    slow.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n');
    const dribble = setInterval(() => !slow.destroyed && slow.write('X'), 200);
    try {
      expect(await closedWithin(slow, 4000)).toBe(true);
    } finally {
      clearInterval(dribble);
    }
  });

  it('reads its limits from the environment, each bad value naming its variable', () => {
    expect(loadApiSettings({ HTTP_MAX_CONNECTIONS: '300', API_EXPORTS_PER_TOKEN: '1' })).toMatchObject({ maxConnections: 300, exportsPerToken: 1, headersTimeoutMs: 10_000 });
    expect(() => loadApiSettings({ HTTP_MAX_CONNECTIONS: 'many' })).toThrow(/^HTTP_MAX_CONNECTIONS: must be an integer/);
    expect(() => loadApiSettings({ HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '30000' })).toThrow(/^HTTP_HEADERS_TIMEOUT_MS: must not exceed/);
    // Well below the descriptor limit, so MQTT keeps descriptors of its own.
    expect(defaultApiSettings(20_000).maxConnections).toBe(1024);
    expect(defaultApiSettings(1024).maxConnections).toBe(256);
  });
});
