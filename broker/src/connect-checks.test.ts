import type { AuthenticateError, Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import type { Principal } from './acl.js';
import { CONNECT_STEPS, createAuthenticate, type ConnectInfo, type LoginDeps } from './connect-checks.js';
import { MemoryDeviceRegistry } from './registry/memory-registry.js';
import { SecretCheck } from './secret-check.js';
import { AuthThrottle } from './throttle.js';

async function connect(o: { clientId: string; username: string; password: string; will?: ConnectInfo['will'] }, registry: MemoryDeviceRegistry, throttle?: AuthThrottle) {
  const client = { id: o.clientId, closed: false } as unknown as Client;
  const connectInfo = new WeakMap<Client, ConnectInfo>([[client, { clientId: o.clientId, will: o.will }]]);
  const denied: Array<{ reason: string; detail?: string }> = [];
  let lookups = 0;
  const counted = new Proxy(registry, { get: (t, k) => (k === 'getDevice' || k === 'getService' ? (lookups++, t[k].bind(t)) : (t as never)[k]) });
  const deps: LoginDeps = {
    registry: counted,
    denials: { deny: (reason: string, ctx: { detail?: string }) => denied.push({ reason, ...(ctx.detail ? { detail: ctx.detail } : {}) }) } as never,
    throttle,
    secrets: new SecretCheck({}),
    cluster: undefined,
    bindClientId: true,
    maxClientIdLength: 23,
    maxPayloadBytes: 64 * 1024,
    connectInfo,
    principals: new WeakMap<Client, Principal>(),
    contextOf: () => ({}),
    remoteAddressOf: () => '10.0.0.9',
    peerCertificateOf: () => undefined,
    onRegistryError: () => undefined,
  };
  const result = await new Promise<{ error: AuthenticateError | null; ok: boolean | null }>((resolve) => createAuthenticate(deps)(client, o.username, Buffer.from(o.password), (error, ok) => resolve({ error, ok })));
  return { ...result, denied, lookups };
}

describe('connect checks', () => {
  it('are named steps in a fixed order, cheapest first', () => {
    expect(CONNECT_STEPS.map(([name]) => name)).toEqual(['clusterHealthy', 'clientIdLength', 'notLockedOut', 'identity', 'clientIdBound', 'willWithinRights']);
  });

  it('admit a device with its secret, its id as client id and a will within its rights', async () => {
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const { secret } = await registry.provision({ id: 'pole-01', type: 'smart-pole' });
    const r = await connect({ clientId: 'pole-01', username: 'pole-01', password: secret, will: { topic: 'tsunagaru/v1/smart-pole/pole-01/state', payload: Buffer.from('{}'), qos: 1, retain: true } as never }, registry);
    expect(r).toMatchObject({ error: null, ok: true, denied: [] });
  });

  it('refuse a too-long client id (code 2) before looking anything up, and a locked-out identity (code 3) before scrypt', async () => {
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const { secret } = await registry.provision({ id: 'pole-01', type: 'smart-pole' });
    const long = await connect({ clientId: 'x'.repeat(24), username: 'pole-01', password: secret }, registry);
    expect(long.error?.returnCode).toBe(2);
    expect(long.lookups).toBe(0);
    const throttle = new AuthThrottle({ maxFailuresPerPair: 1 });
    const wrong = await connect({ clientId: 'pole-01', username: 'pole-01', password: 'not-the-secret-000000' }, registry, throttle);
    expect(wrong.error?.returnCode).toBe(4);
    const locked = await connect({ clientId: 'pole-01', username: 'pole-01', password: secret }, registry, throttle);
    expect(locked.error?.returnCode).toBe(3);
    expect(locked.denied).toMatchObject([{ reason: 'auth_throttled' }]);
    expect(locked.lookups).toBe(0);
  });

  it('refuse another device\'s client id (code 2) and a will outside the device\'s rights (code 5), after the secret', async () => {
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const { secret } = await registry.provision({ id: 'pole-01', type: 'smart-pole' });
    expect((await connect({ clientId: 'pole-02', username: 'pole-01', password: secret }, registry)).error?.returnCode).toBe(2);
    const will = await connect({ clientId: 'pole-01', username: 'pole-01', password: secret, will: { topic: 'tsunagaru/v1/smart-pole/pole-02/state', payload: Buffer.from('{}'), qos: 1, retain: true } as never }, registry);
    expect(will.error?.returnCode).toBe(5);
    expect(will.denied).toMatchObject([{ reason: 'will_denied' }]);
  });
});
