import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connect, denials, tryConnect, waitForClose } from './helpers.js';
import { INGEST, startTestBroker, type TestBroker } from './fixture.js';

describe('broker authentication (live aedes, MQTT.js 3.1.1)', () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startTestBroker();
  });
  afterEach(async () => {
    await t.stop();
  });

  it('accepts a provisioned device with its secret and counts the session', async () => {
    const client = await connect(t.port, t.pole);
    expect(client.connected).toBe(true);
    await vi.waitFor(() => expect(t.broker.stats().connections).toBe(1));
    expect(t.lines.find((l) => l.event === 'mqtt_connected')).toMatchObject({ clientId: 'pole-01', username: 'pole-01', remoteAddress: '127.0.0.1' });
  });

  it('rejects a wrong secret with CONNACK 4 and logs one structured denial without the secret', async () => {
    const { error } = await tryConnect(t.port, { ...t.pole, password: 'not-the-right-secret-123' });
    expect(error?.code).toBe(4);
    const denied = denials(t.lines);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ event: 'mqtt_denied', reason: 'bad_secret', clientId: 'pole-01', username: 'pole-01', remoteAddress: '127.0.0.1' });
    const everything = t.raw.join('\n');
    expect(everything).not.toContain('not-the-right-secret-123');
    expect(everything).not.toContain(t.pole.password);
    expect(t.broker.stats().denials.bad_secret).toBe(1);
  });

  it('rejects an unknown username with CONNACK 4', async () => {
    const { error } = await tryConnect(t.port, { username: 'pole-99', password: 'whatever-secret-1234', clientId: 'pole-99' });
    expect(error?.code).toBe(4);
    expect(denials(t.lines, 'unknown_username')).toHaveLength(1);
  });

  it('rejects a connection without credentials', async () => {
    const { error } = await tryConnect(t.port, { clientId: 'anon' });
    expect(error?.code).toBe(4);
    expect(denials(t.lines, 'missing_credentials')).toHaveLength(1);
  });

  it('rejects a disabled device with CONNACK 5 even with the right secret', async () => {
    await t.registry.setDisabled('pole-01', true);
    const { error } = await tryConnect(t.port, t.pole);
    expect(error?.code).toBe(5);
    expect(denials(t.lines, 'device_disabled')).toHaveLength(1);
  });

  it('binds client ids to the username: another device\'s id is refused, a suffixed or empty one is fine', async () => {
    const victim = await connect(t.port, t.meter);
    const { error } = await tryConnect(t.port, { ...t.pole, clientId: 'wm-01' });
    expect(error?.code).toBe(2);
    expect(denials(t.lines, 'client_id_rejected')[0]).toMatchObject({ username: 'pole-01', clientId: 'wm-01' });
    expect(victim.connected).toBe(true); // the takeover did not happen
    await connect(t.port, { ...t.pole, clientId: 'pole-01:diag' });
    const anonymousId = await connect(t.port, { ...t.pole, clientId: '' });
    expect(anonymousId.connected).toBe(true);
  });

  it('authenticates the ingest service account the same way', async () => {
    await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const { error } = await tryConnect(t.port, { ...INGEST, password: 'wrong-ingest-secret-01', clientId: 'ingest:2' });
    expect(error?.code).toBe(4);
  });

  it('disconnects a live session when its secret is rotated, and only the new secret works after', async () => {
    const client = await connect(t.port, t.pole);
    const other = await connect(t.port, t.meter);
    const closed = waitForClose(client);
    const { secret } = await t.registry.rotateSecret('pole-01');
    await closed;
    expect(t.lines.find((l) => l.event === 'mqtt_session_revoked')).toMatchObject({ reason: 'secret_rotated', username: 'pole-01' });
    expect(other.connected).toBe(true);
    expect((await tryConnect(t.port, t.pole)).error?.code).toBe(4);
    await connect(t.port, { ...t.pole, password: secret });
    expect(t.broker.stats().revocations.secret_rotated).toBe(1);
  });

  it('disconnects a live session when the device is disabled, but not on an attribute change', async () => {
    const client = await connect(t.port, t.pole);
    await t.registry.updateAttributes('pole-01', { site: 'nishi-shinjuku' });
    await new Promise((r) => setTimeout(r, 100));
    expect(client.connected).toBe(true);
    const closed = waitForClose(client);
    await t.registry.setDisabled('pole-01', true);
    await closed;
    expect(t.broker.stats().revocations.device_disabled).toBe(1);
  });

  it('disconnects the ingest when its service secret is replaced', async () => {
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const closed = waitForClose(ingest);
    await t.registry.upsertService('ingest', 'ingest', 'a-brand-new-ingest-secret');
    await closed;
    expect(t.broker.stats().revocations.secret_rotated).toBe(1);
  });
});
