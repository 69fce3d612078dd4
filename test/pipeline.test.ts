/**
 * The working pipeline end to end, with real parts: our aedes broker on a random port, the ingest with
 * its embedded DuckDB store on a temp DATA_DIR, the REST API over HTTP, devices over real MQTT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { DeviceSession, MemoryIdentityStore } from '@tsunagaru/edge-agent';
import { connectDevice, T0, telemetryPayload, tryConnect } from './support/device-client.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

describe('pipeline: device → aedes broker → ingest → DuckDB → API', () => {
  let stack: Stack;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack();
    for (const [id, type, attributes] of [
      ['bs-shinjuku-01', 'bs-power', { site: 'tokyo-metropolitan-government' }],
      ['wm-toyosu-0001', 'water-meter', { dma: 'toyosu-1' }],
      ['wm-toyosu-0002', 'water-meter', { dma: 'toyosu-1' }],
    ] as const) {
      const res = await stack.api.post('/api/v1/devices', { id, type, attributes });
      expect(res.status).toBe(201);
      secrets[id] = res.body.secret;
    }
  });
  afterAll(async () => stack?.close());

  it('a device provisioned through the API publishes a reading that appears through the API, with birth and death', async () => {
    const session = new DeviceSession({
      url: stack.mqttUrl,
      deviceId: 'bs-shinjuku-01',
      type: 'bs-power',
      secret: secrets['bs-shinjuku-01']!,
      fw: '3.4.1',
      model: 'DCP-48-sim',
      sampleSec: 60,
      identity: new MemoryIdentityStore(),
    });
    await session.start();
    const sample = { ts: Date.now(), mains: 'off', loadA: 38.5, batterySocPct: 71.5, batteryV: 50.9, batteryA: -38.5, batteryTempC: 27, backhaul: 'satellite' } as const;
    const sent = await session.publishTelemetry([sample]);

    const device = await waitFor('the reading and the birth through the API', async () => {
      const res = await stack.api.get(`/api/v1/devices/bs-shinjuku-01`);
      return res.body.latest?.batterySocPct && res.body.status?.online ? res.body : undefined;
    });
    expect(device.status).toMatchObject({ online: true, fw: '3.4.1', model: 'DCP-48-sim', sampleSec: 60, boot: sent.boot });
    expect(device.latest.batterySocPct).toEqual({ value: 71.5, ts: sample.ts });
    expect(device.attributes).toEqual({ site: 'tokyo-metropolitan-government' });

    const readings = await stack.api.get(`/api/v1/devices/bs-shinjuku-01/readings?from=${sample.ts}&to=${sample.ts + 1}`);
    expect(readings.body.readings).toEqual([{ boot: sent.boot, seq: sent.seq, replay: false, ...sample }]);

    await session.stop({ graceful: true });
    await waitFor('the death to mark the device offline', async () => (await stack.api.get('/api/v1/devices/bs-shinjuku-01')).body.status.online === false);
  });

  it('refuses a wrong secret and an unknown device at CONNECT', async () => {
    // CONNACK 4 "bad user name or password" for both, so an attacker cannot tell which ids exist.
    expect(await tryConnect(stack.mqttUrl, 'wm-toyosu-0001', 'not-the-secret-at-all')).toBe(4);
    expect(await tryConnect(stack.mqttUrl, 'wm-nobody', secrets['wm-toyosu-0001']!)).toBe(4);
    expect(await tryConnect(stack.mqttUrl, 'wm-toyosu-0001', secrets['wm-toyosu-0001']!)).toBe('connected');
    const denials = stack.logs.filter((l) => l.event === 'mqtt_denied');
    expect(denials.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(denials)).not.toContain('not-the-secret-at-all');
  });

  it('denies a device publishing under another device\'s prefix, and stores nothing of it', async () => {
    const intruder = await connectDevice(stack.mqttUrl, 'wm-toyosu-0001', secrets['wm-toyosu-0001']!);
    intruder.on('error', () => undefined);
    const forged = telemetryPayload('wm-toyosu-0002', 0, [{ ts: T0, indexL: 999_999, flowLph: 5000 }]);
    // On MQTT 3.1.1 there is no negative PUBACK: the broker drops the connection instead.
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(buildTopic('water-meter', 'wm-toyosu-0002', 'telemetry'), forged, { qos: 1 }, () => undefined);
    await closed;
    intruder.end(true);

    // The victim's own reading goes through the same broker and ingest afterwards; once it is stored,
    // the forged one (sent earlier, on the same path) would have been stored too if it had got through.
    const victim = await connectDevice(stack.mqttUrl, 'wm-toyosu-0002', secrets['wm-toyosu-0002']!);
    await victim.publishAsync(buildTopic('water-meter', 'wm-toyosu-0002', 'telemetry'), telemetryPayload('wm-toyosu-0002', 0, [{ ts: T0 + 1000, indexL: 10 }]), { qos: 1 });
    await victim.endAsync();
    const rows = await waitFor('the victim\'s own reading', async () => {
      const r = (await stack.api.get(`/api/v1/devices/wm-toyosu-0002/readings?from=${T0 - 1}&to=${T0 + 10_000}`)).body.readings;
      return r.length > 0 ? r : undefined;
    });
    expect(rows.map((r: { indexL: number }) => r.indexL)).toEqual([10]);
    const denial = stack.logs.find((l) => l.event === 'mqtt_denied' && l.topic === buildTopic('water-meter', 'wm-toyosu-0002', 'telemetry'));
    expect(denial).toMatchObject({ username: 'wm-toyosu-0001' });
  });

  it('dead-letters an invalid payload with a reason that names the field', async () => {
    const c = await connectDevice(stack.mqttUrl, 'bs-shinjuku-01', secrets['bs-shinjuku-01']!);
    const samples = [0, 1, 2, 3].map((i) => ({ ts: T0 + i * 60_000, batterySocPct: i === 3 ? 100.5 : 80 }));
    await c.publishAsync(buildTopic('bs-power', 'bs-shinjuku-01', 'telemetry'), telemetryPayload('bs-shinjuku-01', 50, samples, 9), { qos: 1 });
    await c.endAsync();
    const dl = await waitFor('the dead letter', async () => (await stack.api.get('/api/v1/dead-letters?deviceId=bs-shinjuku-01')).body.deadLetters[0]);
    expect(dl).toMatchObject({ topic: buildTopic('bs-power', 'bs-shinjuku-01', 'telemetry'), reason: 'samples[3].batterySocPct: must be ≤ 100' });
    expect(JSON.parse(dl.payload)).toMatchObject({ boot: 9, seq: 50 });
    const stored = (await stack.api.get(`/api/v1/devices/bs-shinjuku-01/readings?from=${T0}&to=${T0 + 600_000}`)).body.readings;
    expect(stored).toEqual([]);
  });

  it('stores a redelivered (id, boot, seq) once', async () => {
    const c = await connectDevice(stack.mqttUrl, 'wm-toyosu-0001', secrets['wm-toyosu-0001']!);
    const payload = telemetryPayload('wm-toyosu-0001', 7, [{ ts: T0 + 5000, indexL: 4242 }], 3);
    const topic = buildTopic('water-meter', 'wm-toyosu-0001', 'telemetry');
    const before = stack.ingest.pipeline.counters().byOutcome.duplicate;
    await c.publishAsync(topic, payload, { qos: 1 });
    await c.publishAsync(topic, payload, { qos: 1 });
    await c.endAsync();
    await waitFor('the duplicate to be counted', () => stack.ingest.pipeline.counters().byOutcome.duplicate === before + 1);
    const rows = (await stack.api.get(`/api/v1/devices/wm-toyosu-0001/readings?from=${T0}&to=${T0 + 10_000}`)).body.readings;
    expect(rows.filter((r: { boot: number; seq: number }) => r.boot === 3 && r.seq === 7)).toHaveLength(1);
  });
});
