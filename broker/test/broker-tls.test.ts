import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type TsunagaruBroker } from '../src/broker.js';
import { MemoryDeviceRegistry } from '../src/registry/memory-registry.js';
import { ensureDevCertificates, issueDeviceCertificate, type DevCertificates } from '../src/tls.js';
import { captureLogger, denials, waitForClose, type LogLine } from './helpers.js';

/** mqtts with the broker's own dev CA; client certificates from that CA, and from a stranger's CA. */
describe('broker over TLS (mqtts) with client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-tls-'));
  let certs: DevCertificates;
  let own: { cert: string; key: string };
  let foreign: { cert: string; key: string };
  let registry: MemoryDeviceRegistry;
  let broker: TsunagaruBroker;
  let lines: LogLine[];
  let optionalPort: number;
  let requiredPort: number;
  let secret: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    certs = await ensureDevCertificates(join(dir, 'tls'));
    const pole = await issueDeviceCertificate(join(dir, 'tls'), 'pole-01');
    own = { cert: readFileSync(pole.certPath, 'utf8'), key: readFileSync(pole.keyPath, 'utf8') };
    const stranger = await issueDeviceCertificate(join(dir, 'other-ca'), 'pole-01');
    foreign = { cert: readFileSync(stranger.certPath, 'utf8'), key: readFileSync(stranger.keyPath, 'utf8') };
    await issueDeviceCertificate(join(dir, 'tls'), 'ghost-01');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    secret = (await registry.provision({ id: 'pole-01', type: 'smart-pole' })).secret;
    await registry.provision({ id: 'wm-01', type: 'water-meter' });
    const captured = captureLogger();
    lines = captured.lines;
    broker = await createBroker({ registry, logger: captured.logger });
    const tls = { cert: certs.cert, key: certs.key, ca: certs.ca };
    optionalPort = (await broker.listen({ port: 0, tls: { ...tls, clientCertificates: 'optional' } })).port;
    requiredPort = (await broker.listen({ port: 0, tls: { ...tls, clientCertificates: 'required' } })).port;
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function attempt(port: number, options: IClientOptions): Promise<{ client: MqttClient; code?: number; error?: string }> {
    const client = mqtt.connect(`mqtts://localhost:${port}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca: certs.ca, ...options });
    clients.push(client);
    return new Promise((resolve) => {
      client.once('connect', () => resolve({ client }));
      client.once('error', (err) => resolve({ client, code: (err as { code?: number }).code, error: err.message }));
      client.once('close', () => resolve({ client, error: 'closed' }));
    });
  }

  it('serves mqtts with id + secret, and refuses a client that does not trust the certificate', async () => {
    expect((await attempt(optionalPort, { clientId: 'pole-01', username: 'pole-01', password: secret })).error).toBeUndefined();
    const untrusting = await attempt(optionalPort, { clientId: 'pole-01', username: 'pole-01', password: secret, ca: foreign.cert });
    expect(untrusting.error).toMatch(/certificate|self.signed|unable/i);
  });

  it('logs a device in by its client certificate (CN = device id), without a secret', async () => {
    const { client, error } = await attempt(optionalPort, { clientId: 'pole-01', cert: own.cert, key: own.key });
    expect(error).toBeUndefined();
    await client.publishAsync('tsunagaru/v1/smart-pole/pole-01/telemetry', '{}', { qos: 1 });
    expect(broker.stats().connections).toBeGreaterThanOrEqual(1);
  });

  it('refuses a certificate whose CN is not the username, or not a provisioned device', async () => {
    expect((await attempt(optionalPort, { clientId: 'wm-01', username: 'wm-01', cert: own.cert, key: own.key })).code).toBe(4);
    expect(denials(lines, 'certificate_mismatch')[0]).toMatchObject({ username: 'wm-01' });
    const ghost = readFileSync(join(dir, 'tls', 'devices', 'ghost-01.pem'), 'utf8');
    const ghostKey = readFileSync(join(dir, 'tls', 'devices', 'ghost-01.key'), 'utf8');
    expect((await attempt(optionalPort, { clientId: 'ghost-01', cert: ghost, key: ghostKey })).code).toBe(4);
  });

  it('ignores a certificate from another CA on the optional port (the secret decides) and refuses it on the required port', async () => {
    expect((await attempt(optionalPort, { clientId: 'pole-01', cert: foreign.cert, key: foreign.key })).code).toBe(4);
    expect((await attempt(optionalPort, { clientId: 'pole-01', username: 'pole-01', password: secret, cert: foreign.cert, key: foreign.key })).error).toBeUndefined();
    expect((await attempt(requiredPort, { clientId: 'pole-01', username: 'pole-01', password: secret, cert: foreign.cert, key: foreign.key })).error).toBeDefined();
    expect((await attempt(requiredPort, { clientId: 'pole-01', username: 'pole-01', password: secret })).error).toBeDefined();
    expect((await attempt(requiredPort, { clientId: 'pole-01', cert: own.cert, key: own.key })).error).toBeUndefined();
  });

  it('closes a certificate session when the device is disabled, and refuses the certificate after', async () => {
    const { client } = await attempt(optionalPort, { clientId: 'pole-01', cert: own.cert, key: own.key });
    const closed = waitForClose(client);
    await registry.setDisabled('pole-01', true);
    await closed;
    expect((await attempt(optionalPort, { clientId: 'pole-01', cert: own.cert, key: own.key })).code).toBe(5);
    await registry.setDisabled('pole-01', false);
  });

  it('refuses to listen for client certificates without a CA, naming the option', async () => {
    await expect(broker.listen({ port: 0, tls: { cert: certs.cert, key: certs.key, clientCertificates: 'optional' } })).rejects.toMatchObject({ code: 'BROKER_ERR_CONFIG' });
  });
});
