/**
 * Alert engine end to end, water meters and smart poles: real MQTT through our aedes broker into the
 * ingest, alerts read back through the REST API and its server-sent event stream. Fake clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, parseAlertRules, tokensPathFor } from '@tsunagaru/ingest';
import { WaterMeterModel, type WaterMeterOptions } from '@tsunagaru/simulators';
import { apiClient } from './support/api-client.js';
import { T0 } from './support/device-client.js';
import { devicePublisher } from './support/publisher.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

const QUARTER = 15 * 60_000;

/** A simulated meter's samples every 15 min for `hours`, from T0. */
function meterSamples(options: WaterMeterOptions, hours: number, seed: number) {
  const model = new WaterMeterModel({ seed, sampleSec: 900, ...options });
  return Array.from({ length: (hours * 4) + 1 }, (_, i) => model.step(T0 + i * QUARTER).sample);
}

/** Reads server-sent events from the alert stream into `events`. */
async function followStream(url: string, token: string, events: Array<{ event: string; data: any }>): Promise<AbortController> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  void (async () => {
    let buffer = '';
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
  return abort;
}

describe('alerts: water meters and smart poles, over MQTT', () => {
  let stack: Stack;
  let now = T0;
  let devices: ReturnType<typeof devicePublisher>;
  const alerts = async (query: string) => (await stack.api.get(`/api/v1/alerts?${query}`)).body.alerts as Array<Record<string, any>>;

  beforeAll(async () => {
    stack = await startStack({ clock: () => now, alertRules: parseAlertRules({ evaluateEverySec: 3600, water: { welfareNoUseHours: 12 } }) });
    devices = devicePublisher(stack, () => now);
    for (const [id, attrs] of [
      ['wm-leaky', { dma: 'toyosu-1' }],
      ['wm-normal', { dma: 'toyosu-1' }],
      ['wm-watched', { dma: 'toyosu-1', welfareWatch: true }],
      ['wm-not-enrolled', { dma: 'toyosu-1' }],
    ] as const) await devices.provision(id, 'water-meter', attrs);
    await devices.provision('pole-01', 'smart-pole', { site: 'nishi-shinjuku' });
    await devices.provision('pole-02', 'smart-pole', { site: 'nishi-shinjuku' });
  });
  afterAll(async () => {
    await devices?.close();
    await stack?.close();
  });

  it('a leak (no flow-free hour in 24 h) raises; a normal diurnal household over the same 2 days does not', async () => {
    // The world's clock is where its meters' 49 h of samples end: the ingest dead-letters samples stamped
    // ahead of its clock (a wrong device clock), and the later tests move on from here.
    now = T0 + 49 * 3_600_000;
    await devices.publish('wm-leaky', meterSamples({ residents: 2, leak: { lph: 12 } }, 49, 11));
    await devices.publish('wm-normal', meterSamples({ residents: 2 }, 49, 11));
    const leaks = await alerts('type=water-leak&state=all');
    expect(leaks.map((a) => a.deviceId)).toEqual(['wm-leaky']);
    expect(leaks[0]).toMatchObject({ state: 'active', group: 'water', severity: 'minor' });
    expect(await alerts('deviceId=wm-normal&state=all')).toEqual([]);
  });

  it('welfare watch fires only for the enrolled household, and only roles with welfare access see it', async () => {
    const vacant = { residents: 1, vacantFromTs: T0 + 2 * 3_600_000 };
    await devices.publish('wm-watched', meterSamples(vacant, 15, 5));
    await devices.publish('wm-not-enrolled', meterSamples(vacant, 15, 5));
    const welfare = await alerts('type=welfare-watch');
    expect(welfare.map((a) => a.deviceId)).toEqual(['wm-watched']);
    expect(welfare[0]!.value).toBeGreaterThanOrEqual(12);

    const { token: opsToken } = await addToken(tokensPathFor(stack.dataDir), 'disaster-ops', 'ops room');
    const { token: waterToken } = await addToken(tokensPathFor(stack.dataDir), 'water-bureau', 'water bureau');
    const asOps = apiClient(stack.ingest.httpUrl, opsToken);
    expect((await asOps.get('/api/v1/alerts?type=welfare-watch')).body.alerts).toEqual([]);
    expect((await asOps.get(`/api/v1/alerts/${welfare[0]!.id}`)).status).toBe(404);
    expect((await apiClient(stack.ingest.httpUrl, waterToken).get('/api/v1/alerts?type=welfare-watch')).body.count).toBe(1);
  });

  it('a chattering door makes one alert marked chattering, and the stream carries a handful of events, not dozens', async () => {
    const events: Array<{ event: string; data: any }> = [];
    const abort = await followStream(`${stack.ingest.httpUrl}/api/v1/alerts/stream`, 'integration-test-token-0123456789', events);
    for (let i = 0; i < 20; i++) {
      now += 1000;
      await devices.publish('pole-01', [{ doorOpen: i % 2 === 0, cabinetTempC: 30 }]);
    }
    const door = await alerts('type=pole-door-open&state=all');
    expect(door).toHaveLength(1);
    expect(door[0]).toMatchObject({ deviceId: 'pole-01', chattering: true, state: 'active', transitions: 20 });
    await waitFor('the stream to deliver the chattering mark', () => events.some((e) => e.data.alert.chattering));
    const doorEvents = events.filter((e) => e.data.alert.rule === 'pole-door-open');
    expect(doorEvents.length).toBeLessThanOrEqual(4);
    expect(new Set(doorEvents.map((e) => e.data.alert.id)).size).toBe(1);

    // Quiet for a minute (door closed): the chattering alert clears.
    now += 61_000;
    await stack.ingest.alerting.engine.tick();
    expect((await alerts('type=pole-door-open&state=all'))[0]).toMatchObject({ state: 'cleared', chattering: true });
    abort.abort();
  });

  it('a cabinet temperature hovering at the threshold raises once and does not flap (deadband)', async () => {
    for (const t of [50.2, 49.8, 50.1, 49.9, 50.3, 49.7, 50.0, 49.6]) {
      now += 30_000;
      await devices.publish('pole-02', [{ cabinetTempC: t }]);
    }
    const hot = await alerts('type=pole-cabinet-overtemp&state=all');
    expect(hot).toHaveLength(1);
    expect(hot[0]).toMatchObject({ state: 'active', severity: 'major', transitions: 1, chattering: false });
    now += 30_000;
    await devices.publish('pole-02', [{ cabinetTempC: 46.5 }]);
    expect((await alerts('type=pole-cabinet-overtemp'))[0]).toMatchObject({ id: hot[0]!.id, severity: 'warning' });
  });

  it('replayed samples raise nothing on their own', async () => {
    now += 60_000;
    await devices.publish('pole-02', [{ doorOpen: true, fiveG: 'down', airTempC: 38, humidityPct: 70 }], { replay: true });
    expect(await alerts('deviceId=pole-02&type=pole-door-open&state=all')).toEqual([]);
    expect(await alerts('deviceId=pole-02&type=pole-wbgt-danger&state=all')).toEqual([]);
    await devices.publish('pole-02', [{ airTempC: 38, humidityPct: 70 }]);
    expect((await alerts('deviceId=pole-02&type=pole-wbgt-danger'))[0]).toMatchObject({ severity: 'major', message: expect.stringContaining('danger') });
  });
});
