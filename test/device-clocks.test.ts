/**
 * Issue 19, "One bad clock silences a meter": one sample stamped 2099 (inside the contract's range) used to
 * become the meter's "latest", and its later burst and tamper alarms raised nothing, with no sign anywhere.
 * Real MQTT through our broker into the ingest and the alert engine, read back through the REST API, on the
 * wall clock (the default server clock).
 */
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { afterAll, expect, it } from 'vitest';
import { connectDevice, telemetryPayload } from './support/device-client.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

const Y2099 = Date.UTC(2099, 0, 1);
const MIN = 60_000;
let stack: Stack | undefined;
afterAll(async () => stack?.close());

it('a meter whose clock jumps to 2099: that sample is a dead letter with the reason, its status shows the skew, "latest" and the alarms stay on its true readings', async () => {
  stack = await startStack();
  const api = stack.api;
  const res = await api.post('/api/v1/devices', { id: 'wm-clock', type: 'water-meter', attributes: { dma: 'nakano-3' } });
  expect(res.status).toBe(201);
  const device = await connectDevice(stack.mqttUrl, 'wm-clock', res.body.secret);
  const topic = buildTopic('water-meter', 'wm-clock', 'telemetry');

  await device.publishAsync(topic, telemetryPayload('wm-clock', 0, [{ ts: Y2099, indexL: 5_000_000 }]), { qos: 1 });
  const dl = await waitFor('the dead letter', async () => ((await api.get('/api/v1/dead-letters')).body.deadLetters as Array<Record<string, any>>)?.find((d) => d.deviceId === 'wm-clock'));
  expect(dl.reason).toMatch(/^clock: stamped 2099-01-01T00:00:00\.000Z, 72\.\d years ahead of the server clock \(\d{4}-\d\d-\d\dT[\d:.]+Z\); more than 300 s ahead is refused: the device's clock is wrong, set it \(NTP\)$/);
  const skewed = (await api.get('/api/v1/devices/wm-clock')).body;
  expect(skewed.status.clockSkewMs).toBeGreaterThan(Y2099 - Date.now() - 60_000);
  expect(skewed.status.clockSkewMs).toBeLessThanOrEqual(Y2099 - Date.now() + 60_000);
  expect(skewed.latest).toEqual({});

  // The clock is set right again: an hour of live readings every 5 min at 900 L/h (a burst: above 30 % of
  // the 2,500 L/h Q3 for 30 min), the last one with the tamper flag.
  const start = Date.now() - 60 * MIN;
  for (let i = 0; i <= 12; i++) {
    const ts = start + i * 5 * MIN;
    await device.publishAsync(topic, telemetryPayload('wm-clock', i + 1, [{ ts, indexL: 1000 + i * 75, flowLph: 900, ...(i === 12 ? { alarms: ['tamper'] } : {}) }]), { qos: 1 });
  }
  const alerts = await waitFor('the burst and tamper alarms', async () => {
    const active = ((await api.get('/api/v1/alerts?state=active&deviceId=wm-clock')).body.alerts as Array<{ rule: string; object: string | null }>) ?? [];
    const keys = active.map((a) => `${a.rule}/${a.object ?? ''}`).sort();
    return keys.includes('water-burst/') && keys.includes('meter-alarm/tamper') ? keys : undefined;
  });
  expect(alerts).toEqual(['meter-alarm/tamper', 'water-burst/']);
  // The rules hear of readings once journalled; the store a moment later. A batch stores its readings and
  // then the devices' status (last seen, clock skew), so the skew of the last batch may lag its readings.
  const detail = await waitFor('the last reading stored and the status of its batch', async () => {
    const d = (await api.get('/api/v1/devices/wm-clock')).body;
    return d.latest.indexL?.ts === start + 60 * MIN && Math.abs(d.status.clockSkewMs) < 60_000 ? d : undefined;
  });
  expect(detail.latest.indexL).toEqual({ value: 1900, ts: start + 60 * MIN });
  expect(Math.abs(detail.status.clockSkewMs)).toBeLessThan(60_000); // the live readings show a clock that is right again
  await device.endAsync();
});
