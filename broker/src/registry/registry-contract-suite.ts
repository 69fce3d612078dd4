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
