import { describe, expect, it } from 'vitest';
import { managedServer } from './managed-server.js';

describe('managedServer', () => {
  it('fails its start with the fix when the server is not installed, instead of an unhandled error event', async () => {
    const server = managedServer('influxd', '/usr/bin/no-such-server', [], 'http://127.0.0.1:9', async () => false, () => undefined);
    await expect(server.start()).rejects.toThrow(/^influxd could not be started \(spawn \/usr\/bin\/no-such-server ENOENT\); scripts\/install-test-deps\.sh installs/);
    await server.dispose();
  });
});
