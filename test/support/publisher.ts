import type { MqttClient } from 'mqtt';
import { buildTopic, type DeviceType } from '@tsunagaru/firmware-contracts';
import { connectDevice } from './device-client.js';
import type { Stack } from './stack.js';
import { waitFor } from './wait-for.js';

/**
 * Provisions devices through the API, logs them in over MQTT and publishes telemetry for them; each
 * publish resolves once the ingest took the message and the alert engine finished with it.
 */
export function devicePublisher(stack: Stack, clock: () => number) {
  const devices = new Map<string, { client: MqttClient; type: DeviceType; seq: number }>();
  return {
    async provision(id: string, type: DeviceType, attributes: Record<string, string | number | boolean> = {}): Promise<void> {
      const res = await stack.api.post('/api/v1/devices', { id, type, attributes });
      if (res.status !== 201) throw new Error(`provisioning ${id}: ${JSON.stringify(res.body)}`);
      devices.set(id, { client: await connectDevice(stack.mqttUrl, id, res.body.secret), type, seq: 0 });
    },
    /** Samples without `ts` get the clock's time. */
    async publish(id: string, samples: object[], extra: { replay?: boolean } = {}): Promise<void> {
      const d = devices.get(id)!;
      const full = samples.map((s) => ({ ts: clock(), ...s })) as Array<{ ts: number }>;
      const payload = { v: 1, id, boot: 1, seq: d.seq++, ts: full[0]!.ts, ...extra, samples: full };
      const before = stack.ingest.pipeline.counters().received;
      await d.client.publishAsync(buildTopic(d.type, id, 'telemetry'), JSON.stringify(payload), { qos: 1 });
      await waitFor('the ingest to take the message', () => stack.ingest.pipeline.counters().received > before);
      await stack.ingest.alerting.engine.idle();
    },
    /** A retained birth (state online) with the device's sample interval, as a real device sends at connect. */
    async birth(id: string, sampleSec: number): Promise<void> {
      const d = devices.get(id)!;
      const before = stack.ingest.pipeline.counters().received;
      const birth = { v: 1, id, state: 'online', boot: 1, ts: clock(), fw: '1.0.0', model: 'test', sampleSec };
      await d.client.publishAsync(buildTopic(d.type, id, 'state'), JSON.stringify(birth), { qos: 1, retain: true });
      await waitFor('the ingest to take the birth', () => stack.ingest.pipeline.counters().received > before);
      await stack.ingest.alerting.engine.idle();
    },
    /** The death message a device publishes on a graceful stop (state offline, retained). */
    async death(id: string): Promise<void> {
      const d = devices.get(id)!;
      const before = stack.ingest.pipeline.counters().received;
      await d.client.publishAsync(buildTopic(d.type, id, 'state'), JSON.stringify({ v: 1, id, state: 'offline', boot: 1, ts: clock() }), { qos: 1, retain: true });
      await waitFor('the ingest to take the death', () => stack.ingest.pipeline.counters().received > before);
      await stack.ingest.alerting.engine.idle();
    },
    async close(): Promise<void> {
      for (const d of devices.values()) await d.client.endAsync();
    },
  };
}
