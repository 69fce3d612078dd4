/**
 * LPWA head-end gateways through the real broker and ingest: meters provisioned without a secret, a
 * gateway publishing each reading under the meter's own prefix, and the ACL keeping gateways to their meters.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { headEndLayout, runHeadEnds } from '@tsunagaru/simulators';
import { connectDevice, telemetryPayload, tryConnect } from './support/device-client.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

let stack: Stack;
const layout = headEndLayout(120, 2);
const secrets: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack();
  for (const g of layout) {
    secrets[g.id] = (await stack.registry.provision({ id: g.id, type: 'water-meter', attributes: { role: 'head-end', dma: g.dma } })).secret;
    for (const m of g.meters) await stack.registry.provision({ id: m, type: 'water-meter', attributes: { dma: g.dma, headEnd: g.id }, secret: null });
  }
});
afterAll(async () => stack?.close());

it('gateways publish two reading cycles for 120 meters; the ingest stores every reading under the meter', async () => {
  const before = stack.ingest.pipeline.counters().byOutcome.stored;
  const tampered = layout[0]!.meters[3]!;
  // Two 15-minute cycles that ended by now: readings are never stamped ahead of the ingest's clock.
  const startTs = Date.now() - 2 * 900_000;
  const run = await runHeadEnds({ url: stack.mqttUrl, layout, secrets, cycles: 2, seed: 7, startTs, simulation: (id) => (id === tampered ? { tamperAtTs: startTs } : undefined) });
  const stats = await run.done;
  await run.stop();
  expect(stats).toMatchObject({ gateways: 2, meters: 120, published: 240, errors: 0 });
  await waitFor('the ingest to store 240 readings', () => stack.ingest.pipeline.counters().byOutcome.stored - before >= 240);
  expect(stack.ingest.pipeline.counters().byOutcome['dead-letter']).toBe(0);
  // The meter's own tamper event, relayed by its head-end, raises the meter's alarm.
  await waitFor('the tamper alert', async () => ((await stack.api.get(`/api/v1/alerts?type=meter-alarm&deviceId=${tampered}`)).body.alerts as unknown[]).length > 0 || undefined);
  const [alert] = (await stack.api.get(`/api/v1/alerts?type=meter-alarm&deviceId=${tampered}`)).body.alerts;
  expect(alert).toMatchObject({ object: 'tamper', severity: 'major' });
  const meter = layout[1]!.meters[5]!;
  const res = await stack.api.get(`/api/v1/devices/${meter}`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id: meter, attributes: { headEnd: 'hes-002' } });
});

it('a meter without a secret cannot log in; a gateway cannot publish for another gateway\'s meters', async () => {
  const meter = layout[0]!.meters[0]!;
  expect(await tryConnect(stack.mqttUrl, meter, '')).not.toBe('connected');
  expect(await tryConnect(stack.mqttUrl, meter, 'x'.repeat(32))).not.toBe('connected');
  const other = await connectDevice(stack.mqttUrl, 'hes-002', secrets['hes-002']!);
  const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));
  other.publish(buildTopic('water-meter', meter, 'telemetry'), telemetryPayload(meter, 99, [{ ts: Date.now(), indexL: 1, flowLph: 0 }]), { qos: 1 });
  await closed; // MQTT 3.1.1: a refused publish closes the connection
  other.end(true);
});
