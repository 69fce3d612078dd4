import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectMessages, connect, denials, subscribeGranted, tryConnect, waitForClose } from './helpers.js';
import { INGEST, METER_TELEMETRY, POLE_TELEMETRY, startTestBroker, type TestBroker } from './fixture.js';

describe('broker ACL (contract v1 topic rights)', () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startTestBroker();
  });
  afterEach(async () => {
    await t.stop();
  });

  async function ingestSubscribedToAll() {
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const received = collectMessages(ingest);
    expect(await subscribeGranted(ingest, 'tsunagaru/v1/#')).toEqual([1]);
    return { ingest, received };
  }

  it('lets the ingest subscribe to everything under tsunagaru/v1 and receive a device message', async () => {
    const { received } = await ingestSubscribedToAll();
    const pole = await connect(t.port, t.pole);
    await pole.publishAsync(POLE_TELEMETRY, '{"v":1}', { qos: 1 });
    await vi.waitFor(() => expect(received.map((m) => m.topic)).toEqual([POLE_TELEMETRY]));
    expect(received[0]!.payload.toString()).toBe('{"v":1}');
  });

  it('refuses a publish under another device\'s prefix: the publisher is disconnected, nobody receives it', async () => {
    const { received } = await ingestSubscribedToAll();
    const pole = await connect(t.port, t.pole);
    const closed = waitForClose(pole);
    pole.publish(METER_TELEMETRY, '{"forged":true}', { qos: 1 });
    await closed;
    expect(denials(t.lines, 'publish_denied')[0]).toMatchObject({ username: 'pole-01', topic: METER_TELEMETRY, remoteAddress: '127.0.0.1' });
    // A later, legitimate message arrives, so the forged one would have arrived before it if delivered.
    const meter = await connect(t.port, t.meter);
    await meter.publishAsync(METER_TELEMETRY, '{"genuine":true}', { qos: 1 });
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]!.payload.toString()).toBe('{"genuine":true}');
  });

  it.each([
    ['the cmd channel of its own prefix', 'tsunagaru/v1/smart-pole/pole-01/cmd'],
    ['its id under the wrong type', 'tsunagaru/v1/water-meter/pole-01/telemetry'],
    ['an unknown channel', 'tsunagaru/v1/smart-pole/pole-01/debug'],
    ['a topic outside the contract', 'somewhere/else'],
  ])('refuses a device publishing to %s', async (_label, topic) => {
    const pole = await connect(t.port, t.pole);
    const closed = waitForClose(pole);
    pole.publish(topic, '{}', { qos: 0 });
    await closed;
    expect(denials(t.lines, 'publish_denied')).toHaveLength(1);
  });

  it('allows every device publish channel of its own prefix', async () => {
    const { received } = await ingestSubscribedToAll();
    const pole = await connect(t.port, t.pole);
    for (const channel of ['telemetry', 'event', 'cmd/ack']) {
      await pole.publishAsync(`tsunagaru/v1/smart-pole/pole-01/${channel}`, '{}', { qos: 1 });
    }
    await pole.publishAsync('tsunagaru/v1/smart-pole/pole-01/state', '{"state":"online"}', { qos: 1, retain: true });
    await vi.waitFor(() => expect(received).toHaveLength(4));
    expect(denials(t.lines)).toEqual([]);
  });

  it('retains only state: a retained telemetry message is refused', async () => {
    const pole = await connect(t.port, t.pole);
    const closed = waitForClose(pole);
    pole.publish(POLE_TELEMETRY, '{}', { qos: 1, retain: true });
    await closed;
    expect(denials(t.lines, 'retain_denied')).toHaveLength(1);
  });

  it('lets a device subscribe only to exactly its own cmd topic (SUBACK 0x80 otherwise, session kept)', async () => {
    const pole = await connect(t.port, t.pole);
    expect(await subscribeGranted(pole, 'tsunagaru/v1/water-meter/wm-01/cmd')).toEqual([128]);
    expect(await subscribeGranted(pole, 'tsunagaru/v1/smart-pole/+/cmd')).toEqual([128]);
    expect(await subscribeGranted(pole, 'tsunagaru/v1/#')).toEqual([128]);
    expect(await subscribeGranted(pole, 'tsunagaru/v1/smart-pole/pole-01/cmd')).toEqual([1]);
    expect(pole.connected).toBe(true);
    const refused = denials(t.lines, 'subscribe_denied');
    expect(refused.map((l) => l.topic)).toEqual(['tsunagaru/v1/water-meter/wm-01/cmd', 'tsunagaru/v1/smart-pole/+/cmd', 'tsunagaru/v1/#']);
  });

  it('lets the ingest command a device, and the device receive it; another device does not', async () => {
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const pole = await connect(t.port, t.pole);
    const meter = await connect(t.port, t.meter);
    const poleInbox = collectMessages(pole);
    const meterInbox = collectMessages(meter);
    await subscribeGranted(pole, 'tsunagaru/v1/smart-pole/pole-01/cmd');
    await subscribeGranted(meter, 'tsunagaru/v1/water-meter/wm-01/cmd');
    await ingest.publishAsync('tsunagaru/v1/smart-pole/pole-01/cmd', '{"name":"ping"}', { qos: 1 });
    await vi.waitFor(() => expect(poleInbox).toHaveLength(1));
    expect(meterInbox).toEqual([]);
  });

  it('keeps the ingest to commands and to tsunagaru/v1 filters', async () => {
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    expect(await subscribeGranted(ingest, 'tsunagaru/v1/+/+/#')).toEqual([1]);
    expect(await subscribeGranted(ingest, '#')).toEqual([128]);
    expect(await subscribeGranted(ingest, '$SYS/#')).toEqual([128]);
    const closed = waitForClose(ingest);
    ingest.publish(POLE_TELEMETRY, '{"forged":true}', { qos: 1 });
    await closed;
    expect(denials(t.lines, 'publish_denied')[0]).toMatchObject({ username: 'ingest', topic: POLE_TELEMETRY });
  });

  it('refuses a retained command (it would be redelivered at every reconnect)', async () => {
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const closed = waitForClose(ingest);
    ingest.publish('tsunagaru/v1/smart-pole/pole-01/cmd', '{"name":"reboot"}', { qos: 1, retain: true });
    await closed;
    expect(denials(t.lines, 'retain_denied')).toHaveLength(1);
  });

  it('refuses at CONNECT a will outside the device\'s own topics (CONNACK 5)', async () => {
    const { error } = await tryConnect(t.port, { ...t.pole, will: { topic: 'tsunagaru/v1/water-meter/wm-01/state', payload: Buffer.from('{}'), qos: 1, retain: true } });
    expect(error?.code).toBe(5);
    expect(denials(t.lines, 'will_denied')[0]).toMatchObject({ topic: 'tsunagaru/v1/water-meter/wm-01/state', username: 'pole-01' });
  });

  it('publishes a valid will (own state, retained) when the device drops off', async () => {
    const { received } = await ingestSubscribedToAll();
    const death = '{"v":1,"id":"pole-01","state":"offline","boot":3}';
    const pole = await connect(t.port, { ...t.pole, will: { topic: 'tsunagaru/v1/smart-pole/pole-01/state', payload: Buffer.from(death), qos: 1, retain: true } });
    pole.stream.destroy(); // no DISCONNECT packet: an ungraceful drop
    await vi.waitFor(() => expect(received.map((m) => m.payload.toString())).toEqual([death]));
    expect(denials(t.lines)).toEqual([]);
  });
});
