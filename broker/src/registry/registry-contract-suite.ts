/**
 * The behaviour every DeviceRegistry must have, as one suite run against each implementation
 * (memory-registry.test.ts, file-registry.test.ts), in the manner of MQTT.js's abstract_store.
 * Not a test file itself: it exports a function that declares the tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegistryOptions } from './base-registry.js';
import { isRegistryError, type RegistryErrorCode } from './errors.js';
import { verifySecret } from './secret-hash.js';
import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';

export interface RegistryUnderTest {
  registry: DeviceRegistry;
  cleanup?: () => Promise<void>;
}

/** Cheap scrypt for tests; production default is 16384. */
export const TEST_SCRYPT_N = 1024;

async function expectCode(promise: Promise<unknown>, code: RegistryErrorCode): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRegistryError(err, code), `expected RegistryError ${code}, got ${String(err)}`).toBe(true);
  return err as Error;
}

export function deviceRegistryContract(name: string, make: (options: RegistryOptions) => Promise<RegistryUnderTest>): void {
  describe(`DeviceRegistry contract: ${name}`, () => {
    let subject: RegistryUnderTest;
    let registry: DeviceRegistry;
    let clock: number;
    let logged: string[];

    beforeEach(async () => {
      clock = Date.UTC(2026, 0, 1);
      logged = [];
      const logger = { warn: (_o: object, msg: string) => logged.push(msg), error: (_o: object, msg: string) => logged.push(msg) };
      subject = await make({ scryptN: TEST_SCRYPT_N, now: () => new Date(clock), logger });
      registry = subject.registry;
    });

    afterEach(async () => {
      await registry.close();
      await subject.cleanup?.();
    });

    it('provisions a device, returns the secret once and stores only its hash', async () => {
      const { device, secret } = await registry.provision({ id: 'pole-01', type: 'smart-pole', attributes: { site: 'nishi-shinjuku' } });
      expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(device).toMatchObject({ id: 'pole-01', type: 'smart-pole', disabled: false, attributes: { site: 'nishi-shinjuku' } });
      expect(device.createdAt).toBe('2026-01-01T00:00:00.000Z');
      expect(JSON.stringify(device)).not.toContain(secret);
      expect(await verifySecret(secret, device.secretHash)).toBe(true);
      expect(await verifySecret(`${secret}x`, device.secretHash)).toBe(false);
      expect(registry.getDevice('pole-01')).toEqual(device);
    });

    it('uses a caller-supplied secret and rejects one shorter than 16 characters', async () => {
      const { secret, device } = await registry.provision({ id: 'wm-1', type: 'water-meter', secret: 'a-long-enough-secret' });
      expect(secret).toBe('a-long-enough-secret');
      expect(await verifySecret('a-long-enough-secret', device.secretHash)).toBe(true);
      await expectCode(registry.provision({ id: 'wm-2', type: 'water-meter', secret: 'short' }), 'REGISTRY_ERR_INVALID');
      expect(registry.getDevice('wm-2')).toBeUndefined();
    });

    it('rejects a taken id with REGISTRY_ERR_EXISTS, also when two provisions race', async () => {
      await registry.provision({ id: 'bs-1', type: 'bs-power' });
      await expectCode(registry.provision({ id: 'bs-1', type: 'bs-power' }), 'REGISTRY_ERR_EXISTS');
      const results = await Promise.allSettled([
        registry.provision({ id: 'bs-2', type: 'bs-power' }),
        registry.provision({ id: 'bs-2', type: 'ring-node' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(registry.listDevices().map((d) => d.id)).toEqual(['bs-1', 'bs-2']);
    });

    it.each([
      ['an id with a slash', { id: 'a/b', type: 'smart-pole' }],
      ['an empty id', { id: '', type: 'smart-pole' }],
      ['a 65-character id', { id: 'x'.repeat(65), type: 'smart-pole' }],
      ['an MQTT wildcard id', { id: '+', type: 'smart-pole' }],
      ['an unknown type', { id: 'ok', type: 'toaster' }],
      ['an object attribute', { id: 'ok', type: 'smart-pole', attributes: { nested: {} } }],
      ['a latitude of 91', { id: 'ok', type: 'smart-pole', location: { lat: 91, lon: 0 } }],
    ])('rejects %s with REGISTRY_ERR_INVALID', async (_label, input) => {
      const err = await expectCode(registry.provision(input as never), 'REGISTRY_ERR_INVALID');
      expect(err.message.length).toBeGreaterThan(10);
      expect(registry.listDevices()).toEqual([]);
    });

    it('rotates a secret: the old one stops verifying, the new one works', async () => {
      const first = await registry.provision({ id: 'ring-oshima', type: 'ring-node' });
      clock += 60_000;
      const rotated = await registry.rotateSecret('ring-oshima');
      expect(rotated.secret).not.toBe(first.secret);
      expect(await verifySecret(first.secret, rotated.device.secretHash)).toBe(false);
      expect(await verifySecret(rotated.secret, registry.getDevice('ring-oshima')!.secretHash)).toBe(true);
      expect(rotated.device.updatedAt).toBe('2026-01-01T00:01:00.000Z');
      expect(rotated.device.createdAt).toBe(first.device.createdAt);
      await expectCode(registry.rotateSecret('nope'), 'REGISTRY_ERR_NOT_FOUND');
    });

    it('disables and re-enables a device', async () => {
      await registry.provision({ id: 'pole-02', type: 'smart-pole' });
      expect((await registry.setDisabled('pole-02', true)).disabled).toBe(true);
      expect(registry.getDevice('pole-02')!.disabled).toBe(true);
      expect((await registry.setDisabled('pole-02', false)).disabled).toBe(false);
      await expectCode(registry.setDisabled('ghost', true), 'REGISTRY_ERR_NOT_FOUND');
    });

    it('revokes a device: disabled, and its old secret no longer verifies even after re-enabling', async () => {
      const first = await registry.provision({ id: 'bs-rev-1', type: 'bs-power' });
      const revoked = await registry.revoke('bs-rev-1');
      expect(revoked.disabled).toBe(true);
      expect(await verifySecret(first.secret, registry.getDevice('bs-rev-1')!.secretHash)).toBe(false);
      await registry.setDisabled('bs-rev-1', false);
      expect(await verifySecret(first.secret, registry.getDevice('bs-rev-1')!.secretHash)).toBe(false);
      await expectCode(registry.revoke('ghost'), 'REGISTRY_ERR_NOT_FOUND');
    });

    it('replaces attributes and keeps the location unless a new one is given', async () => {
      await registry.provision({ id: 'wm-3', type: 'water-meter', attributes: { dma: 'toyosu-1', a: 1 }, location: { lat: 35.65, lon: 139.79 } });
      const updated = await registry.updateAttributes('wm-3', { dma: 'toyosu-2' });
      expect(updated.attributes).toEqual({ dma: 'toyosu-2' });
      expect(updated.location).toEqual({ lat: 35.65, lon: 139.79 });
      const moved = await registry.updateAttributes('wm-3', { dma: 'toyosu-2' }, { lat: 35.66, lon: 139.8 });
      expect(registry.getDevice('wm-3')!.location).toEqual({ lat: 35.66, lon: 139.8 });
      expect(moved.secretHash).toBe(updated.secretHash);
      await expectCode(registry.updateAttributes('wm-3', { bad: [] as never }), 'REGISTRY_ERR_INVALID');
      await expectCode(registry.updateAttributes('ghost', {}), 'REGISTRY_ERR_NOT_FOUND');
    });

    it('patches some attributes and the location, leaving the rest; no change, no write', async () => {
      await registry.provision({ id: 'wm-4', type: 'water-meter', attributes: { dma: 'toyosu-1', welfareWatch: true, old: 'x' }, location: { lat: 35.65, lon: 139.79 } });
      const seen: (string | null)[] = [];
      registry.onChange((id) => seen.push(id));
      clock += 1000;
      const patched = await registry.patchDevice('wm-4', { set: { dma: 'toyosu-2', nominalFlowLph: 900 }, unset: ['old', 'never-there'] });
      expect(patched.attributes).toEqual({ dma: 'toyosu-2', welfareWatch: true, nominalFlowLph: 900 });
      expect(patched.location).toEqual({ lat: 35.65, lon: 139.79 });
      expect(patched.updatedAt).toBe('2026-01-01T00:00:01.000Z');
      expect((await registry.patchDevice('wm-4', { location: { lat: 35.7, lon: 139.7 } })).location).toEqual({ lat: 35.7, lon: 139.7 });
      expect('location' in (await registry.patchDevice('wm-4', { location: null }))).toBe(false);
      clock += 1000;
      const same = await registry.patchDevice('wm-4', { set: { dma: 'toyosu-2' }, unset: ['old'] });
      expect(same.updatedAt).toBe('2026-01-01T00:00:01.000Z');
      expect(seen).toEqual(['wm-4', 'wm-4', 'wm-4']);
      await expectCode(registry.patchDevice('wm-4', { set: { bad: {} as never } }), 'REGISTRY_ERR_INVALID');
      await expectCode(registry.patchDevice('wm-4', { location: { lat: 91, lon: 0 } }), 'REGISTRY_ERR_INVALID');
      await expectCode(registry.patchDevice('wm-4', { set: Object.fromEntries(Array.from({ length: 98 }, (_, i) => [`k${i}`, i])) }), 'REGISTRY_ERR_INVALID');
      await expectCode(registry.patchDevice('ghost', { set: { a: 1 } }), 'REGISTRY_ERR_NOT_FOUND');
      expect(registry.getDevice('wm-4')!.attributes).toEqual({ dma: 'toyosu-2', welfareWatch: true, nominalFlowLph: 900 });
    });

    it('imports devices: head-end meters without a secret, direct devices with one returned once, in batches', async () => {
      const seen: (string | null)[] = [];
      registry.onChange((id) => seen.push(id));
      const rows = [
        { id: 'hes-001', type: 'water-meter' as const, attributes: { role: 'head-end', dma: 'dma-001' } },
        ...[1, 2, 3].map((n) => ({ id: `wm-001-0000${n}`, type: 'water-meter' as const, attributes: { dma: 'dma-001', headEnd: 'hes-001' }, secret: null })),
        { id: 'pole-imp-1', type: 'smart-pole' as const, location: { lat: 35.69, lon: 139.69 } },
      ];
      const first = await registry.importDevices(rows, { batchSize: 2 });
      expect(first).toMatchObject({ applied: true, errors: [], created: 5, updated: 0, unchanged: 0, withoutSecret: 3 });
      expect(first.secrets.map((s) => [s.id, s.type])).toEqual([['hes-001', 'water-meter'], ['pole-imp-1', 'smart-pole']]);
      for (const { id, secret } of first.secrets) expect(await verifySecret(secret, registry.getDevice(id)!.secretHash)).toBe(true);
      // A meter behind a head-end cannot log in: no secret was issued, and none verifies.
      expect(await verifySecret('', registry.getDevice('wm-001-00001')!.secretHash)).toBe(false);
      expect(registry.getDevice('pole-imp-1')).toMatchObject({ location: { lat: 35.69, lon: 139.69 }, disabled: false, createdAt: '2026-01-01T00:00:00.000Z' });
      // Batches of 2, 2 and 1: one announcement each, the last names its one device.
      expect(seen).toEqual([null, null, 'pole-imp-1']);

      clock += 60_000;
      const again = await registry.importDevices(rows);
      expect(again).toMatchObject({ applied: true, created: 0, updated: 0, unchanged: 5, secrets: [] });
      expect(seen).toHaveLength(3);
      expect(await verifySecret(first.secrets[0]!.secret, registry.getDevice('hes-001')!.secretHash)).toBe(true);

      // Changed rows merge their attributes in; what the file does not name stays.
      await registry.patchDevice('wm-001-00002', { set: { welfareWatch: true } });
      const moved = await registry.importDevices([{ ...rows[2]!, attributes: { dma: 'dma-002', headEnd: 'hes-001' } }, rows[3]!]);
      expect(moved).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
      expect(registry.getDevice('wm-001-00002')).toMatchObject({ attributes: { dma: 'dma-002', headEnd: 'hes-001', welfareWatch: true }, updatedAt: '2026-01-01T00:01:00.000Z' });
    });

    it('refuses the whole import when a row is wrong, naming each row; a dry run counts and writes nothing', async () => {
      await registry.upsertService('ingest', 'ingest', 'service-secret-0001');
      await registry.provision({ id: 'bs-imp-1', type: 'bs-power' });
      const rows = [
        { id: 'ok-1', type: 'ring-node' as const },
        { id: 'ok-2', type: 'toaster' as never },
        { id: 'bs-imp-1', type: 'smart-pole' as const },
        { id: 'ok-1', type: 'ring-node' as const },
        { id: 'ingest', type: 'ring-node' as const },
        { id: 'ok-3', type: 'ring-node' as const, location: { lat: 0, lon: 200 } },
      ];
      // Rows wrong on their own (type, duplicate id, location) and against the registry (a type change, a
      // service account's name), all named in one pass.
      const all = await registry.importDevices(rows);
      expect(all.applied).toBe(false);
      expect(all.errors.map((e) => [e.index, e.id])).toEqual([[1, 'ok-2'], [2, 'bs-imp-1'], [3, 'ok-1'], [4, 'ingest'], [5, 'ok-3']]);
      expect(all.errors[2]!.message).toMatch(/also on row 1/);
      expect(all.errors[4]!.message).toMatch(/^location\.lon: must be a number in -180\.\.180/);
      const clash = await registry.importDevices([rows[0]!, rows[2]!, rows[4]!]);
      expect(clash.errors.map((e) => [e.index, e.message])).toEqual([
        [1, 'device bs-imp-1 is provisioned as bs-power; an import cannot change its type to smart-pole'],
        [2, '"ingest" is a service account username; device ids and usernames share one namespace'],
      ]);
      expect(registry.listDevices().map((d) => d.id)).toEqual(['bs-imp-1']);
      const dry = await registry.importDevices([rows[0]!, { id: 'bs-imp-1', type: 'bs-power', attributes: { site: 'tocho' } }], { dryRun: true });
      expect(dry).toMatchObject({ applied: false, errors: [], created: 1, updated: 1, unchanged: 0, secrets: [] });
      expect(registry.listDevices().map((d) => d.id)).toEqual(['bs-imp-1']);
      expect(registry.getDevice('bs-imp-1')!.attributes).toEqual({});
    });

    it('hands out records that cannot be edited in place', async () => {
      const { device } = await registry.provision({ id: 'pole-03', type: 'smart-pole', attributes: { x: 1 } });
      const stored = registry.getDevice(device.id)!;
      expect(() => {
        (stored as { disabled: boolean }).disabled = true;
      }).toThrow();
      expect(() => {
        stored.attributes.x = 2;
      }).toThrow();
      expect(registry.getDevice('pole-03')!.disabled).toBe(false);
    });

    it('creates and replaces service accounts, keeping createdAt', async () => {
      const created = await registry.upsertService('ingest', 'ingest', 'service-secret-0001');
      expect(await verifySecret('service-secret-0001', created.secretHash)).toBe(true);
      clock += 1000;
      const replaced = await registry.upsertService('ingest', 'ingest', 'service-secret-0002');
      expect(replaced.createdAt).toBe(created.createdAt);
      expect(await verifySecret('service-secret-0001', registry.getService('ingest')!.secretHash)).toBe(false);
      expect(registry.getService('nobody')).toBeUndefined();
      await expectCode(registry.upsertService('x', 'admin' as never, 'service-secret-0003'), 'REGISTRY_ERR_INVALID');
      await expectCode(registry.upsertService('bad/name', 'ingest', 'service-secret-0003'), 'REGISTRY_ERR_INVALID');
    });

    it('keeps device ids and service usernames in one namespace', async () => {
      await registry.upsertService('ingest', 'ingest', 'service-secret-0001');
      await registry.provision({ id: 'pole-04', type: 'smart-pole' });
      await expectCode(registry.provision({ id: 'ingest', type: 'smart-pole' }), 'REGISTRY_ERR_EXISTS');
      await expectCode(registry.upsertService('pole-04', 'ingest', 'service-secret-0001'), 'REGISTRY_ERR_EXISTS');
    });

    it('tells onChange listeners which device changed, null for services, and stops after unsubscribe', async () => {
      const seen: (string | null)[] = [];
      const off = registry.onChange((id) => seen.push(id));
      await registry.provision({ id: 'd1', type: 'bs-power' });
      await registry.rotateSecret('d1');
      await registry.setDisabled('d1', true);
      await registry.setDisabled('d1', true); // no change, no notification
      await registry.updateAttributes('d1', { site: 'x' });
      await registry.upsertService('ingest', 'ingest', 'service-secret-0001');
      off();
      await registry.setDisabled('d1', false);
      expect(seen).toEqual(['d1', 'd1', 'd1', 'd1', null]);
    });

    it('keeps working when a listener throws', async () => {
      registry.onChange(() => {
        throw new Error('listener bug');
      });
      await expect(registry.provision({ id: 'd2', type: 'bs-power' })).resolves.toBeDefined();
      expect(registry.getDevice('d2')).toBeDefined();
      expect(logged).toContain('registry onChange listener threw');
    });

    it('rejects mutations after close with REGISTRY_ERR_CLOSED', async () => {
      await registry.provision({ id: 'd3', type: 'ring-node' });
      await registry.close();
      await expectCode(registry.setDisabled('d3', true), 'REGISTRY_ERR_CLOSED');
    });
  });
}
