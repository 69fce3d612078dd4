import { MAX_PAYLOAD_BYTES } from '@tsunagaru/firmware-contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBroker } from '../src/broker.js';
import { MemoryDeviceRegistry } from '../src/registry/memory-registry.js';
import { captureLogger, collectMessages, connect, denials, subscribeGranted, waitForClose } from './helpers.js';
import { INGEST, POLE_TELEMETRY, startTestBroker, type TestBroker } from './fixture.js';

describe('broker size limits', () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('delivers a payload of exactly 64 KiB and refuses one byte more', async () => {
    t = await startTestBroker();
    const ingest = await connect(t.port, { ...INGEST, clientId: 'ingest' });
    const received = collectMessages(ingest);
    await subscribeGranted(ingest, 'tsunagaru/v1/#');
    const pole = await connect(t.port, t.pole);
    await pole.publishAsync(POLE_TELEMETRY, Buffer.alloc(MAX_PAYLOAD_BYTES, 0x61), { qos: 1 });
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]!.payload.length).toBe(65536);

    const closed = waitForClose(pole);
    pole.publish(POLE_TELEMETRY, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x62), { qos: 1 });
    await closed; // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection
    expect(denials(t.lines, 'payload_too_large')[0]).toMatchObject({ username: 'pole-01', topic: POLE_TELEMETRY, detail: '65537 bytes > 65536' });
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(1);
    expect(t.broker.stats().denials.payload_too_large).toBe(1);
  });

  it('cuts a connection whose packet declares more than maxPacketBytes before buffering it', async () => {
    t = await startTestBroker();
    const pole = await connect(t.port, t.pole);
    const closed = waitForClose(pole);
    // A PUBLISH fixed header declaring 10 MiB (remaining length varint 0x80 0x80 0x80 0x05); no body follows.
    pole.stream.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x05]));
    await closed;
    expect(denials(t.lines, 'packet_too_large')[0]).toMatchObject({
      username: 'pole-01',
      clientId: 'pole-01',
      remoteAddress: '127.0.0.1',
      detail: `packet declares 10485760 bytes > ${MAX_PAYLOAD_BYTES + 4096}`,
    });
  });

  it('honours a smaller maxPayloadBytes', async () => {
    t = await startTestBroker({ maxPayloadBytes: 100 });
    const pole = await connect(t.port, t.pole);
    await pole.publishAsync(POLE_TELEMETRY, Buffer.alloc(100), { qos: 1 });
    const closed = waitForClose(pole);
    pole.publish(POLE_TELEMETRY, Buffer.alloc(101), { qos: 1 });
    await closed;
    expect(denials(t.lines, 'payload_too_large')).toHaveLength(1);
  });

  it('refuses inconsistent limits at construction, naming the option', async () => {
    const registry = new MemoryDeviceRegistry();
    const { logger } = captureLogger();
    await expect(createBroker({ registry, logger, maxPayloadBytes: 1000, maxPacketBytes: 10 })).rejects.toMatchObject({
      code: 'BROKER_ERR_CONFIG',
      message: expect.stringContaining('maxPacketBytes (10) must be ≥ maxPayloadBytes (1000)'),
    });
    await expect(createBroker({ registry, logger, maxPayloadBytes: -1 })).rejects.toMatchObject({ code: 'BROKER_ERR_CONFIG' });
  });

  it('reports the real port when asked for port 0, and refuses listen after close', async () => {
    t = await startTestBroker();
    expect(t.port).toBeGreaterThan(0);
    await t.broker.close();
    await expect(t.broker.listen({ port: 0 })).rejects.toMatchObject({ code: 'BROKER_ERR_CLOSED' });
  });
});
