/**
 * Lockouts that protect devices instead of locking them out: an attacker who names a device from
 * its own address locks that (device, address) pair and then its address, never the device
 * everywhere; a valid client certificate is never subject to password lockouts. Default throttle
 * settings, real sockets from distinct loopback addresses, real TLS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_THROTTLE_DEFAULTS } from '../src/throttle.js';
import { ensureDevCertificates, issueDeviceCertificate } from '../src/tls.js';
import { connect, denials, tryConnect } from './helpers.js';
import { startTestBroker, type TestBroker } from './fixture.js';

const ATTACKER = '127.0.0.2';
const DEVICE_HOME = '127.0.0.3';

describe('failed-login lockouts (live, default settings)', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('ten password-less CONNECTs naming a device lock that name from the attacking address only; the real device still logs in from its own', async () => {
    t = await startTestBroker();
    expect(AUTH_THROTTLE_DEFAULTS.maxFailuresPerPair).toBe(10);
    for (let i = 0; i < 10; i++) {
      expect((await tryConnect(t.port, { clientId: 'pole-01', username: 'pole-01' }, { from: ATTACKER })).error?.code).toBe(4);
    }
    expect(t.broker.stats().denials.missing_credentials).toBe(10);
    // From the attacking address the name is locked: even the right secret is refused there, unchecked.
    expect((await tryConnect(t.port, t.pole, { from: ATTACKER })).error?.code).toBe(3);
    expect(denials(t.lines, 'auth_throttled').at(-1)).toMatchObject({ remoteAddress: ATTACKER, detail: expect.stringContaining('identity locked out from this address') });
    // The real device, from its own address, is not affected; nor is another device from the attacker's.
    await connect(t.port, t.pole, { from: DEVICE_HOME });
    await connect(t.port, t.meter, { from: ATTACKER });
    expect(t.broker.stats().throttle).toEqual({ lockedPairs: 1, lockedAddresses: 0 });
  });

  it('keeps guessing from one address and the address is locked for every name it has not logged in with; the device elsewhere still logs in', async () => {
    t = await startTestBroker();
    for (let i = 0; i < AUTH_THROTTLE_DEFAULTS.maxFailuresPerAddress; i++) {
      const name = i < AUTH_THROTTLE_DEFAULTS.maxFailuresPerPair ? 'pole-01' : `guess-${i}`;
      expect((await tryConnect(t.port, { clientId: name, username: name }, { from: ATTACKER })).error?.code).toBe(4);
    }
    expect(t.broker.stats().throttle.lockedAddresses).toBe(1);
    expect((await tryConnect(t.port, t.meter, { from: ATTACKER })).error?.code).toBe(3);
    expect(denials(t.lines, 'auth_throttled').at(-1)).toMatchObject({ remoteAddress: ATTACKER, detail: expect.stringContaining('address locked out') });
    await connect(t.port, t.pole, { from: DEVICE_HOME });
    await connect(t.port, t.meter, { from: DEVICE_HOME });
  });
});

describe('client certificates are never subject to password lockouts (live, mqtts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-lockout-tls-'));
  let t: TestBroker;
  let tlsPort: number;
  let ca: string;
  let pole: { cert: string; key: string };

  beforeAll(async () => {
    const certs = await ensureDevCertificates(join(dir, 'tls'));
    const issued = await issueDeviceCertificate(join(dir, 'tls'), 'pole-01');
    ca = certs.ca;
    pole = { cert: readFileSync(issued.certPath, 'utf8'), key: readFileSync(issued.keyPath, 'utf8') };
    t = await startTestBroker();
    tlsPort = (await t.broker.listen({ port: 0, host: '127.0.0.1', tls: { cert: certs.cert, key: certs.key, ca: certs.ca, clientCertificates: 'optional' } })).port;
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a device with a valid certificate logs in from the locked attacking address and from its own', async () => {
    // Lock the (pole-01, attacker) pair, then the attacker's address, over TLS without a certificate.
    for (let i = 0; i < AUTH_THROTTLE_DEFAULTS.maxFailuresPerAddress; i++) {
      const name = i < AUTH_THROTTLE_DEFAULTS.maxFailuresPerPair ? 'pole-01' : `guess-${i}`;
      expect((await tryConnect(tlsPort, { clientId: name, username: name }, { from: ATTACKER, tls: { ca } })).error?.code).toBe(4);
    }
    expect(t.broker.stats().throttle).toEqual({ lockedPairs: 1, lockedAddresses: 1 });
    expect((await tryConnect(tlsPort, { ...t.pole }, { from: ATTACKER, tls: { ca } })).error?.code).toBe(3);
    const withCert = { ca, cert: pole.cert, key: pole.key };
    await connect(tlsPort, { clientId: 'pole-01', username: 'pole-01' }, { from: ATTACKER, tls: withCert });
    await connect(tlsPort, { clientId: 'pole-01:b' }, { from: DEVICE_HOME, tls: withCert });
    // Logged in over TLS, the two sessions no longer count as sockets waiting to log in (socket-budget.ts).
    expect(t.broker.stats()).toMatchObject({ connections: 2, socketsWaitingForLogin: 0 });
  });
});
