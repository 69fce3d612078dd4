/**
 * Clock-driven alert rules and notifications end to end: a device that falls silent for k × its own
 * sample interval (from its birth), a pole whose death marks it offline, and the webhook that hears of
 * both. Real MQTT through our aedes broker, fake clock, a real HTTP receiver.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertRules } from '@tsunagaru/ingest';
import { devicePublisher } from './support/publisher.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

describe('alerts: silence, offline and webhooks', () => {
  let stack: Stack;
  // Starts at the real time: device status stamps "last seen" with the receive time, which follows the
  // injected clock or the wall clock depending on the source; from here both agree.
  let now = Date.now();
  let devices: ReturnType<typeof devicePublisher>;
  let receiver: Server;
  const hooked: Array<{ kind: string; alert: { rule: string; deviceId: string; severity: string } }> = [];
  const alerts = async (query: string) => (await stack.api.get(`/api/v1/alerts?${query}`)).body.alerts as Array<Record<string, any>>;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooked.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    const alertRules = parseAlertRules({
      evaluateEverySec: 3600,
      rules: { 'device-offline': { onDelaySec: 0 } },
      // Field engineers' pager: major and worse from the field group only.
      notifications: { webhooks: [{ name: 'field-pager', url, groups: ['field'], severities: ['critical', 'major'] }] },
    });
    stack = await startStack({ clock: () => now, alertRules });
    devices = devicePublisher(stack, () => now);
    await devices.provision('wm-quiet', 'water-meter', { dma: 'nakano-3' });
    await devices.provision('pole-07', 'smart-pole', { site: 'nishi-shinjuku' });
  });
  afterAll(async () => {
    await devices?.close();
    await stack?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('silent for k × its own sample interval raises; the next message clears it', async () => {
    await devices.birth('wm-quiet', 900);
    await devices.publish('wm-quiet', [{ indexL: 100 }]);
    now += 3 * 900_000; // exactly k × 15 min: not yet
    await stack.ingest.alerting.engine.tick();
    expect(await alerts('type=device-silent')).toEqual([]);
    now += 60_000;
    await stack.ingest.alerting.engine.tick();
    const [silent] = await alerts('type=device-silent');
    expect(silent).toMatchObject({ deviceId: 'wm-quiet', severity: 'minor' });
    expect(silent!.value).toBeGreaterThan(45 * 60); // seconds since the last message
    await devices.publish('wm-quiet', [{ indexL: 100 }]);
    expect(await alerts('type=device-silent')).toEqual([]);
  });

  it('a pole\'s death raises offline (major), routed to the field webhook; its birth clears it', async () => {
    await devices.birth('pole-07', 60);
    await devices.publish('pole-07', [{ noiseDb: 52 }]);
    await devices.death('pole-07');
    const [offline] = await alerts('type=device-offline');
    expect(offline).toMatchObject({ deviceId: 'pole-07', severity: 'major', group: 'field' });
    // Offline devices are the offline rule's: no second alert for their silence.
    now += 10 * 60_000;
    await stack.ingest.alerting.engine.tick();
    expect(await alerts('type=device-silent&deviceId=pole-07')).toEqual([]);
    await devices.birth('pole-07', 60);
    expect(await alerts('type=device-offline')).toEqual([]);
    await stack.ingest.alerting.webhooks.idle();
    await waitFor('the webhook deliveries', () => hooked.length >= 2);
    expect(hooked.map((h) => [h.kind, h.alert.rule, h.alert.deviceId])).toEqual([
      ['raised', 'device-offline', 'pole-07'],
      ['cleared', 'device-offline', 'pole-07'],
    ]);
  });
});
