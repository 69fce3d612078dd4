/**
 * A flood of wrong logins from many addresses against production-cost secrets (scrypt N=16384):
 * scrypt never runs more than `maxConcurrent` at once, the overflow is refused at once instead of
 * queueing without end, a connected device's messages keep being acknowledged, and a device whose
 * secret was verified recently logs in again through the fast path, without waiting for scrypt.
 * (How fast is measured in `npm run bench`, suite floods; here: what happens.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type TsunagaruBroker } from '../src/broker.js';
import { MemoryDeviceRegistry } from '../src/registry/memory-registry.js';
import { captureLogger, connect, endAll, tryConnect } from './helpers.js';
import { POLE_TELEMETRY } from './fixture.js';

describe('login flood (live, production scrypt cost)', () => {
  const registry = new MemoryDeviceRegistry(); // scrypt N=16384, as provisioned in production
  let broker: TsunagaruBroker;
  let port: number;
  let pole: { clientId: string; username: string; password: string };

  beforeAll(async () => {
    pole = { clientId: 'pole-01', username: 'pole-01', password: (await registry.provision({ id: 'pole-01', type: 'smart-pole' })).secret };
    await registry.provision({ id: 'wm-01', type: 'water-meter' });
    broker = await createBroker({ registry, logger: captureLogger('info').logger, passwordCheck: { maxConcurrent: 1, maxQueued: 4 } });
    port = (await broker.listen({ port: 0, host: '127.0.0.1' })).port;
  }, 30_000);
  afterAll(async () => {
    await endAll();
    await broker?.close();
    await registry.close();
  });

  it('keeps scrypt bounded, refuses the overflow at once, and lets a recently verified device in through the fast path', async () => {
    const device = await connect(port, pole, { from: '127.0.0.3' });
    expect(broker.stats().logins).toMatchObject({ verified: 1, fastPath: 0 });

    let mostRunning = 0;
    const sample = setInterval(() => (mostRunning = Math.max(mostRunning, broker.stats().logins.running)), 2);
    // 60 wrong logins at once from 20 addresses (3 each: under every lockout), naming real devices.
    const flood = Array.from({ length: 60 }, (_, i) =>
      tryConnect(port, { clientId: i % 2 ? 'pole-01' : 'wm-01', username: i % 2 ? 'pole-01' : 'wm-01', password: `wrong-secret-${String(i).padStart(6, '0')}` }, { from: `127.0.1.${1 + (i % 20)}` }),
    );
    // While it lasts: the connected device's messages are acknowledged, and its second session logs in.
    for (let i = 0; i < 5; i++) await device.publishAsync(POLE_TELEMETRY, `{"n":${i}}`, { qos: 1 });
    const again = await tryConnect(port, { ...pole, clientId: 'pole-01:second' }, { from: '127.0.0.3' });
    expect(again.error).toBeUndefined();
    const codes = (await Promise.all(flood)).map((a) => a.error?.code);
    clearInterval(sample);

    const logins = broker.stats().logins;
    expect(logins.fastPath).toBe(1);
    expect(mostRunning).toBeLessThanOrEqual(1);
    expect(logins.refusedBusy).toBeGreaterThan(0);
    // Each attempt was either checked and refused (4) or refused unchecked as "server busy" (3).
    expect(codes.filter((c) => c === 3)).toHaveLength(logins.refusedBusy);
    expect(codes.filter((c) => c === 4)).toHaveLength(60 - logins.refusedBusy);
    expect(logins.verified).toBe(1 + 60 - logins.refusedBusy);
  }, 60_000);
});
