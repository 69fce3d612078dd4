import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates, MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { buildApp } from './app.js';

function fetchStatus(url: string, ca?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? httpsGet : httpGet)(url, ca ? { ca } : {}, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
  });
}

describe('REST API over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-https-'));
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let ca: string;
  let base: string;

  beforeAll(async () => {
    const certs = await ensureDevCertificates(join(dir, 'tls'));
    ca = certs.ca;
    store = await openEmbeddedStore(':memory:');
    app = await buildApp(
      {
        registry: new MemoryDeviceRegistry({ scryptN: 1024 }),
        operations: store.operations,
        readings: store.readings,
        adminToken: 'https-test-admin-token-000',
        health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
      },
      undefined,
      { cert: certs.cert, key: certs.key },
    );
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with the configured certificate, and nothing over plain HTTP', async () => {
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const port = new URL(base).port;
    expect(await fetchStatus(`https://localhost:${port}/api/v1/health`, ca)).toBe(200);
    expect(await fetchStatus(`https://localhost:${port}/api/v1/devices`, ca)).toBe(401);
    expect(await fetchStatus(`https://localhost:${port}/api/v1/health`)).toMatch(/CERT|SIGNED|ISSUER|VERIFY/); // not trusted without the CA
    expect(await fetchStatus(`http://localhost:${port}/api/v1/health`)).not.toBe(200);
  });
});
