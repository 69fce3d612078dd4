import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { FastifyInstance } from 'fastify';
import { FileAuditLog } from './audit-log.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { buildApp } from './app.js';
import { ROLES, type Role } from './roles.js';
import { addToken, FileTokenStore, readTokens, revokeToken, tokensPathFor } from './tokens.js';

const ADMIN = 'bootstrap-admin-token-0123456789';

describe('API roles, hashed tokens and audit', () => {
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let dir: string;
  const token = {} as Record<Role, string>;
  const as = (role: Role) => ({ authorization: `Bearer ${token[role]}` });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsunagaru-access-'));
    store = await openEmbeddedStore(':memory:');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    for (const role of ROLES) token[role] = (await addToken(tokensPathFor(dir), role, `${role} desk`)).token;
    await registry.provision({ id: 'wm-welfare-01', type: 'water-meter', attributes: { dma: 'nakano-3', welfareWatch: true } });
    await registry.provision({ id: 'bs-shinjuku-01', type: 'bs-power', attributes: { site: 'tocho' } });
    app = await buildApp({
      registry,
      operations: store.operations,
      readings: store.readings,
      adminToken: ADMIN,
      tokens: new FileTokenStore(tokensPathFor(dir), ADMIN),
      audit: new FileAuditLog(join(dir, 'audit.jsonl')),
      health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores only SHA-256 hashes of tokens', async () => {
    const raw = JSON.stringify(await readTokens(tokensPathFor(dir)));
    for (const role of ROLES) expect(raw).not.toContain(token[role]);
    expect(raw).toContain('"role":"water-bureau"');
  });

  it('keeps token times as epoch ms, and still reads token files written with ISO 8601 times', async () => {
    const [first] = await readTokens(tokensPathFor(dir));
    expect(first!.createdAt).toBeGreaterThan(Date.now() - 600_000);
    expect(first!.revokedAt).toBeNull();
    const old = join(dir, 'old-tokens.jsonl');
    writeFileSync(old, `${JSON.stringify({ v: 1, op: 'add', id: 't_old', name: 'old', role: 'disaster-ops', sha256: 'ab', createdAt: '2026-01-02T03:04:05.000Z' })}\n${JSON.stringify({ v: 1, op: 'revoke', id: 't_old', at: '2026-02-03T04:05:06.000Z' })}\n`);
    expect(await readTokens(old)).toEqual([{ id: 't_old', name: 'old', role: 'disaster-ops', sha256: 'ab', createdAt: Date.UTC(2026, 0, 2, 3, 4, 5), revokedAt: Date.UTC(2026, 1, 3, 4, 5, 6) }]);
  });

  it.each([
    // [method, url, roles allowed besides admin]
    ['GET', '/api/v1/devices', ['field-engineer', 'water-bureau', 'disaster-ops']],
    ['GET', '/api/v1/dead-letters', ['field-engineer']],
    ['GET', '/api/v1/audit', []],
    ['POST', '/api/v1/devices/bs-shinjuku-01/disable', ['field-engineer']],
    ['POST', '/api/v1/devices/bs-shinjuku-01/enable', ['field-engineer']],
    ['POST', '/api/v1/devices/nope-404/revoke', []],
  ] as const)('%s %s is allowed exactly for admin + %j', async (method, url, allowed) => {
    for (const role of ROLES) {
      const res = await app.inject({ method, url, headers: as(role) });
      const expected = role === 'admin' || (allowed as readonly string[]).includes(role);
      expect({ role, status: res.statusCode === 403 ? 403 : 'not 403' }).toEqual({ role, status: expected ? 'not 403' : 403 });
      if (!expected) expect(res.json()).toMatchObject({ code: 'INGEST_ERR_FORBIDDEN' });
    }
    expect((await app.inject({ method, url })).statusCode).toBe(401);
  });

  it('keeps health and docs public, and refuses unknown or revoked tokens', async () => {
    expect((await app.inject({ url: '/api/v1/health' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/docs/json' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/devices', headers: { authorization: 'Bearer tsu_made-up' } })).statusCode).toBe(401);
    const temp = await addToken(tokensPathFor(dir), 'disaster-ops', 'temp');
    const h = { authorization: `Bearer ${temp.token}` };
    expect((await app.inject({ url: '/api/v1/devices', headers: h })).statusCode).toBe(200);
    await revokeToken(tokensPathFor(dir), temp.record.id);
    expect((await app.inject({ url: '/api/v1/devices', headers: h })).statusCode).toBe(401);
    // An unknown URL is a 404 for any valid token, not a 403.
    expect((await app.inject({ url: '/api/v1/nothing-here', headers: as('water-bureau') })).statusCode).toBe(404);
  });

  it('shows welfare data only to the water bureau and admins; the bureau sees water meters only', async () => {
    const list = async (role: Role) => (await app.inject({ url: '/api/v1/devices', headers: as(role) })).json().devices as Array<{ id: string; attributes: Record<string, unknown> }>;
    for (const role of ['admin', 'water-bureau'] as const) {
      expect((await list(role)).find((d) => d.id === 'wm-welfare-01')!.attributes).toEqual({ dma: 'nakano-3', welfareWatch: true });
    }
    for (const role of ['field-engineer', 'disaster-ops'] as const) {
      const devices = await list(role);
      expect(devices.find((d) => d.id === 'wm-welfare-01')!.attributes).toEqual({ dma: 'nakano-3' });
      expect(JSON.stringify(devices)).not.toContain('welfareWatch');
      const one = await app.inject({ url: '/api/v1/devices/wm-welfare-01', headers: as(role) });
      expect(one.json().attributes).toEqual({ dma: 'nakano-3' });
    }
    expect((await list('water-bureau')).map((d) => d.id)).toEqual(['wm-welfare-01']);
    expect((await app.inject({ url: '/api/v1/devices/bs-shinjuku-01', headers: as('water-bureau') })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/devices/bs-shinjuku-01', headers: as('disaster-ops') })).statusCode).toBe(200);
  });

  it('audits provisioning, rotation and revocation with who and when; only admins read the audit log', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/devices', headers: as('field-engineer'), payload: { id: 'pole-audit-1', type: 'smart-pole' } });
    expect(created.statusCode).toBe(201);
    const rotated = await app.inject({ method: 'POST', url: '/api/v1/devices/pole-audit-1/rotate-secret', headers: as('field-engineer') });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).not.toBe(created.json().secret);
    expect(JSON.stringify(rotated.json())).not.toContain('scrypt');
    const revoked = await app.inject({ method: 'DELETE', url: '/api/v1/devices/pole-audit-1', headers: as('admin') });
    expect(revoked.json()).toMatchObject({ revoked: true, device: { id: 'pole-audit-1', disabled: true } });

    const audit = await app.inject({ url: '/api/v1/audit?target=pole-audit-1', headers: { authorization: `Bearer ${ADMIN}` } });
    const entries = audit.json().entries as Array<{ action: string; actor: { id: string; role: string }; at: number }>;
    expect(entries.map((e) => e.action)).toEqual(['device.revoke', 'device.rotate-secret', 'device.provision']);
    expect(entries[2]!.actor).toMatchObject({ kind: 'token', role: 'field-engineer', name: 'field-engineer desk' });
    expect(entries[0]!.actor).toMatchObject({ role: 'admin' });
    // `at` is epoch ms, the API's one time format.
    expect(entries[0]!.at).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(entries)).not.toContain(created.json().secret);
  });
});
