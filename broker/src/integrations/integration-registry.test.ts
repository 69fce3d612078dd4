import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authenticateCredentials, sessionStillValid } from '../auth.js';
import { FileDeviceRegistry } from '../registry/file-registry.js';
import { MemoryDeviceRegistry } from '../registry/memory-registry.js';

describe('integration accounts in the registry (issue 20)', () => {
  it('keep their scope across a reopen of the registry file and log in as integration principals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'integration-registry-'));
    try {
      const path = join(dir, 'registry.jsonl');
      const first = await FileDeviceRegistry.open({ path, scryptN: 1024, watch: false });
      await first.upsertService('chirpstack-city', 'integration', 'integration-secret-0001', { type: 'chirpstack', applicationId: 'app-1' });
      await first.close();
      const again = await FileDeviceRegistry.open({ path, scryptN: 1024, watch: false });
      expect(again.getService('chirpstack-city')).toMatchObject({ role: 'integration', integration: { type: 'chirpstack', applicationId: 'app-1' } });
      const login = await authenticateCredentials(again, 'chirpstack-city', Buffer.from('integration-secret-0001'));
      expect(login).toMatchObject({ ok: true, principal: { kind: 'integration', username: 'chirpstack-city', scope: { type: 'chirpstack', applicationId: 'app-1' } } });
      if (!login.ok) throw new Error('unreachable');
      // A rotated secret closes the session, as for the ingest's account.
      await again.upsertService('chirpstack-city', 'integration', 'integration-secret-0002', { type: 'chirpstack', applicationId: 'app-1' });
      expect(sessionStillValid(again, login.principal)).toEqual({ ok: false, reason: 'secret_rotated' });
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an integration without a scope, and a scope on the ingest account, naming the field', async () => {
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await expect(registry.upsertService('x-int', 'integration', 'integration-secret-0001')).rejects.toThrow(/integration: must be an object/);
    await expect(registry.upsertService('x-int', 'integration', 'integration-secret-0001', { type: 'sparkplug', groupId: 'a/b' })).rejects.toThrow(/integration\.groupId/);
    await expect(registry.upsertService('ingest', 'ingest', 'integration-secret-0001', { type: 'sparkplug', groupId: 'g' })).rejects.toThrow(/only for role integration/);
    await registry.close();
  });
});
