/**
 * Exports over real HTTP against a real DuckDB holding 150,000 readings: every export releases its
 * DuckDB connection and its slot when it completes, when it fails half-way, and when its client goes
 * away; exports beyond the per-token and global bounds get 429 with Retry-After; the process survives a
 * stream that fails after its headers went out (the failure that used to exit the process).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbReadingsExporter } from '../storage/duckdb/readings-export.js';
import type { ReadingsExportRequest } from '../storage/duckdb/readings-export.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { defaultApiSettings } from './api-settings.js';
import { buildApp } from './app.js';
import type { Role } from './roles.js';
import type { TokenStore } from './tokens.js';

const ROWS = 150_000;
const T0 = 1_790_000_000_000;
const RANGE = `type=water-meter&from=${T0}&to=${T0 + ROWS * 60_000}`;

/** Tokens by their plain value (the file store's hashing is tested in access.test.ts). */
class MemoryTokens implements TokenStore {
  constructor(private readonly roles: Record<string, Role>) {}
  async authenticate(token: string) {
    const role = this.roles[token];
    return role ? { tokenId: `t_${token}`, name: token, role } : undefined;
  }
}

/** A reader that fails once it has written `after` bytes: a fault DuckDB cannot be made to raise on cue. */
class FailingExporter extends DuckDbReadingsExporter {
  failAfter = Infinity;
  override csv(request: ReadingsExportRequest, out: Writable): Promise<number> {
    let written = 0;
    const write = out.write.bind(out);
    out.write = ((chunk: string, ...rest: never[]) => {
      written += chunk.length;
      if (written > this.failAfter) out.emit('tsunagaru-fail');
      return write(chunk, ...rest);
    }) as Writable['write'];
    return new Promise((resolve, reject) => {
      out.once('tsunagaru-fail', () => reject(new Error('disk read error half-way through the export')));
      super.csv(request, out).then(resolve, reject);
    });
  }
}

describe('readings export streams', () => {
  let store: EmbeddedStore;
  let app: FastifyInstance;
  let base: string;
  let exporter: FailingExporter;
  const tokens = new MemoryTokens({ a: 'field-engineer', b: 'disaster-ops', c: 'water-bureau' });

  beforeAll(async () => {
    store = await openEmbeddedStore(':memory:');
    await store.db.run(`INSERT INTO samples_water_meter (device_id, boot, seq, idx, ts, replay, "indexL", "flowLph") SELECT 'wm-' || (i % 4), 1, i, 0, epoch_ms(${T0} + i * 60000), false, i * 3, 12.5 FROM range(${ROWS}) t(i)`);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    for (let i = 0; i < 4; i++) await registry.provision({ id: `wm-${i}`, type: 'water-meter', attributes: { dma: 'nakano-3' } });
    exporter = new FailingExporter(store.db, store.api.pool);
    app = await buildApp({
      registry,
      operations: store.api.operations,
      readings: store.api.readings,
      adminToken: 'export-streams-admin-token-0123',
      tokens,
      exports: exporter,
      settings: { ...defaultApiSettings(), exportsMax: 2, exportsPerToken: 1 },
      storeReaders: () => ({ pool: store.api.pool.stats(), open: store.db.readersOpen }),
      health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  /** Opens an export and waits for its headers; the body is left unread (paused) until `res.resume()`. */
  const open = (token: string, query = RANGE) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${base}/api/v1/exports/readings.csv?${query}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.pause();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
  const readAll = (res: IncomingMessage) =>
    new Promise<{ bytes: number; complete: boolean }>((resolve) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, complete: res.complete }));
      res.on('error', () => resolve({ bytes, complete: false }));
      res.on('aborted', () => resolve({ bytes, complete: false }));
      res.resume();
    });
  const released = async () => {
    for (let i = 0; i < 100 && (store.db.readersOpen > store.api.pool.stats().open || (await health()).exportsRunning > 0); i++) await new Promise((r) => setTimeout(r, 50));
    return { readers: store.db.readersOpen - store.api.pool.stats().open, exports: (await health()).exportsRunning };
  };
  const health = async () => ((await (await fetch(`${base}/api/v1/health`, { headers: { authorization: 'Bearer a' } })).json()) as { api: { exportsRunning: number } }).api;

  it('completes, then releases its reader and slot', async () => {
    const res = await open('a');
    expect(res.statusCode).toBe(200);
    const { bytes, complete } = await readAll(res);
    expect(complete).toBe(true);
    expect(bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(await released()).toEqual({ readers: 0, exports: 0 });
  });

  it('bounds exports per token and in all: 429 with Retry-After, never queued; a slot comes back when its client leaves', async () => {
    const first = await open('a');
    expect(first.statusCode).toBe(200);
    const sameToken = await fetch(`${base}/api/v1/exports/readings.csv?${RANGE}`, { headers: { authorization: 'Bearer a' } });
    expect(sameToken.status).toBe(429);
    expect(sameToken.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await sameToken.json()).toMatchObject({ code: 'INGEST_ERR_TOO_MANY_REQUESTS', message: expect.stringContaining('this token already has 1 exports running') });
    const second = await open('b');
    expect(second.statusCode).toBe(200);
    const third = await fetch(`${base}/api/v1/exports/readings.csv?${RANGE}`, { headers: { authorization: 'Bearer c' } });
    expect(third.status).toBe(429);
    expect(((await third.json()) as { message: string }).message).toContain('2 exports are running');
    // Both clients go away mid-stream, without reading: the queries are interrupted, readers and slots return.
    first.destroy();
    second.destroy();
    expect(await released()).toEqual({ readers: 0, exports: 0 });
    const again = await open('c');
    expect(again.statusCode).toBe(200);
    again.destroy();
    expect(await released()).toEqual({ readers: 0, exports: 0 });
  });

  it('a failure half-way cuts the response short (never a silent truncation), and the process, reader and slot survive it', async () => {
    exporter.failAfter = 2 * 1024 * 1024;
    try {
      const res = await open('a');
      expect(res.statusCode).toBe(200);
      const { bytes, complete } = await readAll(res);
      expect(complete).toBe(false);
      expect(bytes).toBeGreaterThan(1024 * 1024);
    } finally {
      exporter.failAfter = Infinity;
    }
    expect(await released()).toEqual({ readers: 0, exports: 0 });
    // Still serving.
    const after = await open('a', `${RANGE}&to=${T0 + 1000 * 60_000}`);
    expect((await readAll(after)).complete).toBe(true);
  });
});
