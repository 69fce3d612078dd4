/**
 * We speak standard MQTT: the same ingest and simulators run with Debian's mosquitto 2.0 as the broker,
 * authenticating and authorising from files generated out of the same credentials and ACL rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDeviceRegistry, generateSecret, type MosquittoCredential } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { defaultFleet, startFleet, type Fleet } from '@tsunagaru/simulators';
import { connectDevice, T0, telemetryPayload } from './support/device-client.js';
import { mosquittoAvailable, startMosquitto, type RunningMosquitto } from './support/mosquitto.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

describe.runIf(mosquittoAvailable())('interoperability with Debian mosquitto as the broker', () => {
  let mosquitto: RunningMosquitto;
  let stack: Stack;
  let fleet: Fleet;
  const devices = defaultFleet();
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const credentials: MosquittoCredential[] = [];
    for (const d of devices) {
      const { secret } = await registry.provision({ id: d.id, type: d.type, attributes: d.attributes, secret: generateSecret() });
      secrets[d.id] = secret;
      credentials.push({ username: d.id, password: secret, role: 'device', type: d.type });
    }
    const ingestPassword = generateSecret();
    credentials.push({ username: 'tsunagaru-ingest', password: ingestPassword, role: 'ingest' });
    mosquitto = await startMosquitto(credentials);
    stack = await startStack({ externalMqttUrl: mosquitto.url, ingestPassword, registry });
    fleet = await startFleet({ url: mosquitto.url, devices, secrets, speed: 600 });
  });
  afterAll(async () => {
    await fleet?.stop();
    await stack?.close();
    await mosquitto?.stop();
  });

  it('every simulated device\'s readings and birth arrive through mosquitto into the store and the API', async () => {
    for (const d of devices) {
      const device = await waitFor(`${d.id} online with readings via mosquitto`, async () => {
        const res = await stack.api.get(`/api/v1/devices/${d.id}`);
        return res.body.status?.online && Object.keys(res.body.latest ?? {}).length > 0 ? res.body : undefined;
      }, 30_000);
      expect(device.type).toBe(d.type);
    }
    expect(fleet.stats().errors).toBe(0);
    expect((await stack.api.get('/api/v1/dead-letters')).body.total).toBe(0);
  });

  it('mosquitto\'s ACL (generated from our rules) keeps a device out of another device\'s prefix', async () => {
    const [a, b] = devices.filter((d) => d.type === 'water-meter');
    const intruder = await connectDevice(mosquitto.url, a!.id, secrets[a!.id]!);
    // mosquitto acknowledges a denied 3.1.1 publish and drops it: nothing may reach the ingest.
    await intruder.publishAsync(buildTopic('water-meter', b!.id, 'telemetry'), telemetryPayload(b!.id, 0, [{ ts: T0, indexL: 123_456_789 }], 0), { qos: 1 });
    await intruder.endAsync();
    const marker = await connectDevice(mosquitto.url, b!.id, secrets[b!.id]!);
    await marker.publishAsync(buildTopic('water-meter', b!.id, 'telemetry'), telemetryPayload(b!.id, 1, [{ ts: T0 + 1, indexL: 7 }], 0), { qos: 1 });
    await marker.endAsync();
    const rows = await waitFor('the marker reading', async () => {
      const r = (await stack.api.get(`/api/v1/devices/${b!.id}/readings?from=${T0}&to=${T0 + 10}`)).body.readings;
      return r.length > 0 ? r : undefined;
    });
    expect(rows.map((r: { indexL: number }) => r.indexL)).toEqual([7]);
  });
});
