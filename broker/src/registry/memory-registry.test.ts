import { expect, it } from 'vitest';
import { verifySecret } from './secret-hash.js';
import { MemoryDeviceRegistry } from './memory-registry.js';
import { deviceRegistryContract } from './registry-contract-suite.js';

deviceRegistryContract('MemoryDeviceRegistry', async (options) => ({ registry: new MemoryDeviceRegistry(options) }));

it('provisions devices without a secret of their own (behind a head-end gateway): no login, no scrypt per device', async () => {
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const started = Date.now();
  for (let i = 0; i < 2000; i++) {
    const { secret, device } = await registry.provision({ id: `wm-${i}`, type: 'water-meter', attributes: { headEnd: 'hes-01' }, secret: null });
    expect(secret).toBe('');
    if (i === 0) for (const guess of ['', 'hes-01', device.secretHash]) expect(await verifySecret(guess, device.secretHash)).toBe(false);
  }
  expect(Date.now() - started).toBeLessThan(5000);
  expect(registry.getDevice('wm-1999')?.attributes).toEqual({ headEnd: 'hes-01' });
  await registry.close();
});
