/**
 * Malformed MQTT against the real broker over raw TCP: every case must leave the broker running and
 * serving others (a device logs in and its message reaches a subscriber after each one), and every
 * protocol violation must end that connection. Then a few hundred random mutations of valid packets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, MemoryDeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import type { MqttClient } from 'mqtt';
import { connectDevice } from './support/device-client.js';
import { captureLogger } from './support/log-capture.js';
import { connectPacket, malformedCases, mutatePackets, publishPacket, subscribePacket } from './fuzz/mqtt-bytes.js';
import { rawExchange } from './fuzz/raw-client.js';
import { Rng } from './fuzz/rng.js';

const TOPIC = 'tsunagaru/v1/smart-pole/pole-01/telemetry';

/** Not violations (a PUBACK or PUBREL for an unknown id is ignored or answered by the spec): may stay open. */
const MAY_STAY_OPEN = new Set(['PUBACK for a message never sent after login', 'PUBREL storm after login']);

describe('malformed MQTT packets against the broker', () => {
  const { logger, lines } = captureLogger('debug');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  let broker: TsunagaruBroker;
  let port: number;
  let secret: string;
  let ingest: MqttClient;
  const received: string[] = [];
  let canarySeq = 0;

  beforeAll(async () => {
    secret = (await registry.provision({ id: 'pole-01', type: 'smart-pole' })).secret;
    await registry.upsertService('ingest', 'ingest', 'ingest-secret-0000000001');
    broker = await createBroker({ registry, logger, connectTimeoutMs: 500, authThrottle: false });
    port = (await broker.listen({ port: 0 })).port;
    ingest = await connectDevice(`mqtt://127.0.0.1:${port}`, 'ingest', 'ingest-secret-0000000001');
    await ingest.subscribeAsync('tsunagaru/v1/#', { qos: 1 });
    ingest.on('message', (_t, p) => received.push(p.toString()));
  });
  afterAll(async () => {
    await ingest?.endAsync(true);
    await broker?.close();
    await registry.close();
  });

  /** A device logs in and publishes; the subscriber gets it. Proves the broker is alive and serving. */
  async function canary(): Promise<void> {
    const marker = `canary-${++canarySeq}`;
    const c = await connectDevice(`mqtt://127.0.0.1:${port}`, 'pole-01', secret);
    await c.publishAsync(TOPIC, marker, { qos: 1 });
    await c.endAsync();
    const deadline = Date.now() + 3000;
    while (!received.includes(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received).toContain(marker);
  }

  it.each(malformedCases().map((c) => [c.name, c] as const))('%s: the broker keeps serving, and ends the connection on a violation', async (name, c) => {
    const result = await rawExchange(port, c.chunks, { ...(c.login ? { login: { username: 'pole-01', password: secret } } : {}), waitMs: 1500 });
    if (c.login) expect(result.loginCode).toBe(0);
    if (!MAY_STAY_OPEN.has(name)) expect(result.closedByBroker).toBe(true);
    // Nothing malformed is ever routed: the subscriber sees only canaries.
    expect(received.every((m) => m.startsWith('canary-'))).toBe(true);
    await canary();
  });

  it('drops a connection that never completes CONNECT (connect timeout)', async () => {
    const result = await rawExchange(port, [connectPacket({ clientId: 'x' }).subarray(0, 5)], { waitMs: 2000 });
    expect(result.closedByBroker).toBe(true);
  });

  it('survives 500 random mutations of valid packet sequences, with 50 connections at a time', async () => {
    const rng = new Rng(20261123);
    const valid = [
      connectPacket({ clientId: 'pole-01', username: 'pole-01', password: secret }),
      Buffer.concat([connectPacket({ clientId: 'pole-01', username: 'pole-01', password: secret }), publishPacket(TOPIC, Buffer.from('{"v":1}'), 1)]),
      Buffer.concat([connectPacket({ clientId: 'pole-01', username: 'pole-01', password: secret }), subscribePacket('tsunagaru/v1/smart-pole/pole-01/cmd')]),
    ];
    const cases = Array.from({ length: 500 }, () => mutatePackets(rng, rng.pick(valid)));
    for (let i = 0; i < cases.length; i += 50) {
      await Promise.all(cases.slice(i, i + 50).map((bytes) => rawExchange(port, [bytes], { waitMs: 300 })));
    }
    await canary();
    // Whatever the mutations produced, nothing but canaries and genuine '{"v":1}' publishes was routed.
    expect(received.filter((m) => !m.startsWith('canary-') && m !== '{"v":1}')).toEqual([]);
    expect(broker.stats().sockets).toBeLessThanOrEqual(2);
    expect(lines.some((l) => l.level === 60)).toBe(false); // no fatal log line
  }, 60_000);
});
