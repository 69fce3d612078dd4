import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { createIngestPipeline } from '../drain/pipeline.js';
import { buildApp } from './app.js';

const TOKEN = 'test-admin-token-0123456789';
const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const auth = { authorization: `Bearer ${TOKEN}` };

describe('REST API', () => {
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;

  beforeAll(async () => {
    store = await openEmbeddedStore(':memory:');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    app = await buildApp({
      registry,
      operations: store.operations,
      readings: store.readings,
      adminToken: TOKEN,
      clock: () => T0 + 60_000,
      mqttPublicUrl: 'mqtt://127.0.0.1:1883',
      health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await registry.close();
  });

  it('requires the bearer token everywhere but health and docs', async () => {
    expect((await app.inject({ url: '/api/v1/devices' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/devices', headers: { authorization: 'Bearer wrong-token' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/dead-letters' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/health' })).json()).toMatchObject({ status: 'ok' });
    const docs = await app.inject({ url: '/api/docs/json' });
    expect(docs.statusCode).toBe(200);
    expect(Object.keys(docs.json().paths)).toEqual(expect.arrayContaining(['/api/v1/devices', '/api/v1/devices/{id}', '/api/v1/devices/{id}/readings', '/api/v1/dead-letters', '/api/v1/health']));
    expect((await app.inject({ url: '/api/docs' })).statusCode).toBeLessThan(400);
  });

  it('provisions a device once, returns its secret once, and never exposes the hash', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { id: 'wm-0001', type: 'water-meter', attributes: { dma: 'shinjuku-n1', welfareWatch: true }, location: { lat: 35.69, lon: 139.69 } } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.secret).toEqual(expect.any(String));
    expect(body.secret.length).toBeGreaterThanOrEqual(24);
    expect(body.mqtt).toEqual({ url: 'mqtt://127.0.0.1:1883', username: 'wm-0001', publishPrefix: 'tsunagaru/v1/water-meter/wm-0001/', subscribe: 'tsunagaru/v1/water-meter/wm-0001/cmd' });
    expect(JSON.stringify(body)).not.toContain('scrypt');
    const again = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { id: 'wm-0001', type: 'water-meter' } });
    expect(again.statusCode).toBe(409);
    const list = (await app.inject({ url: '/api/v1/devices?type=water-meter', headers: auth })).json();
    expect(list.devices.map((d: { id: string }) => d.id)).toEqual(['wm-0001']);
    expect(JSON.stringify(list)).not.toContain('secret');
  });

  it('rejects a bad provisioning body with a message naming the field', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { id: 'x y', type: 'toaster' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/body\.id: must match pattern/);
    const res2 = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { id: 'ok-1', type: 'toaster' } });
    expect(res2.json().message).toMatch(/body\.type: must be equal to one of the allowed values: smart-pole, water-meter, bs-power, ring-node/);
  });

  it('serves a device with status and latest readings, and its readings in a time range', async () => {
    await registry.provision({ id: 'bs-07', type: 'bs-power' });
    const pipeline = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    const t = buildTopic('bs-power', 'bs-07', 'telemetry');
    for (let seq = 0; seq < 3; seq++) {
      await pipeline.handle(t, Buffer.from(JSON.stringify({ v: 1, id: 'bs-07', boot: 1, seq, ts: T0 + seq * 1000, samples: [{ ts: T0 + seq * 1000, batterySocPct: 90 - seq, mains: 'off' }] })));
    }
    await pipeline.handle(buildTopic('bs-power', 'bs-07', 'state'), Buffer.from(JSON.stringify({ v: 1, id: 'bs-07', state: 'online', boot: 1, ts: T0, fw: '1.2.0', model: 'DCP', sampleSec: 60 })));
    const device = (await app.inject({ url: '/api/v1/devices/bs-07', headers: auth })).json();
    expect(device.status).toMatchObject({ online: true, boot: 1, fw: '1.2.0', sampleSec: 60 });
    expect(device.latest.batterySocPct).toEqual({ value: 88, ts: T0 + 2000 });
    const readings = (await app.inject({ url: `/api/v1/devices/bs-07/readings?from=${T0}&to=${new Date(T0 + 2000).toISOString()}`, headers: auth })).json();
    expect(readings.readings.map((r: { seq: number; batterySocPct: number }) => [r.seq, r.batterySocPct])).toEqual([
      [0, 90],
      [1, 89],
    ]);
    const bad = await app.inject({ url: '/api/v1/devices/bs-07/readings?from=yesterday', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^querystring\.from: must be epoch milliseconds .* or an ISO 8601 date-time/);
    expect((await app.inject({ url: '/api/v1/devices/nope/readings', headers: auth })).statusCode).toBe(404);
  });

  it('lists dead letters newest first with paging', async () => {
    const pipeline = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    for (let i = 0; i < 3; i++) await pipeline.handle(buildTopic('bs-power', 'bs-07', 'telemetry'), Buffer.from(`not json ${i}`));
    const page1 = (await app.inject({ url: '/api/v1/dead-letters?limit=2', headers: auth })).json();
    expect(page1.count).toBe(2);
    expect(page1.deadLetters[0]).toMatchObject({ payload: 'not json 2', deviceId: 'bs-07', reason: expect.stringMatching(/^payload: invalid JSON/) });
    const page2 = (await app.inject({ url: `/api/v1/dead-letters?limit=2&before=${page1.nextBefore}`, headers: auth })).json();
    expect(page2.deadLetters[0].payload).toBe('not json 0');
  });
});
