import { parseTopic, validateMessage } from '@tsunagaru/firmware-contracts';
import { collectMessages, startTestBroker, type CollectedMessage, type TestBroker } from '@tsunagaru/edge-agent/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultFleet } from './fleet-spec.js';
import { FleetConfigError, startFleet, type Fleet } from './fleet.js';
import { SUMMER_MIDNIGHT_JST } from './model-test-helpers.js';

let broker: TestBroker;
let fleet: Fleet | undefined;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  broker = await startTestBroker();
});
afterEach(async () => {
  await fleet?.stop({ graceful: false });
  fleet = undefined;
  for (const close of closers.splice(0)) await close();
  await broker.close();
});

const devices = defaultFleet();
const secrets = Object.fromEntries(devices.map((d) => [d.id, `secret-of-${d.id}`]));
const deviceOf = (m: CollectedMessage) => m.topic.split('/')[3] ?? '';
const channelOf = (m: CollectedMessage) => m.topic.split('/').slice(4).join('/');

describe('startFleet against a real broker', () => {
  it('connects every device; each publishes contract-valid telemetry with strictly increasing seq', async () => {
    const sink = await collectMessages(broker.url, 'tsunagaru/v1/#');
    closers.push(() => sink.close());
    // 1800×: poles every 33 ms, meters every 0.5 s of real time.
    fleet = await startFleet({ url: broker.url, devices, secrets, speed: 1800, seed: 1, startTs: SUMMER_MIDNIGHT_JST });
    expect(fleet.stats()).toMatchObject({ devices: 15, connected: 15, errors: 0 });
    expect(fleet.failures()).toEqual([]);

    await Promise.all(devices.map((d) => sink.waitForCount((m) => deviceOf(m) === d.id && channelOf(m) === 'telemetry', 3, 10_000)));
    await fleet.stop();
    const stats = fleet.stats();
    expect(stats.errors).toBe(0);
    expect(stats.published).toBeGreaterThanOrEqual(devices.length * 3);

    const invalid = sink.messages.map((m) => validateMessage(m.topic, m.text)).filter((r) => !r.ok);
    expect(invalid).toEqual([]);
    for (const d of devices) {
      const numbered = sink.messages.filter((m) => deviceOf(m) === d.id && (channelOf(m) === 'telemetry' || channelOf(m) === 'event'));
      const seqs = numbered.map((m) => (m.json as { seq: number }).seq);
      expect(seqs[0], d.id).toBe(0);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i], `${d.id} seq ${i}`).toBeGreaterThan(seqs[i - 1] ?? Infinity);
      const boots = new Set(numbered.map((m) => (m.json as { boot: number }).boot));
      expect(boots.size, d.id).toBe(1);
      expect(parseTopic(numbered[0]?.topic ?? '')).toMatchObject({ ok: true, topic: { type: d.type, deviceId: d.id } });
    }
    // A graceful stop leaves every device's retained state offline, as its own death.
    const states = await collectMessages(broker.url, 'tsunagaru/v1/+/+/state');
    closers.push(() => states.close());
    const retained = await states.waitForCount((m) => m.retain, devices.length);
    expect(retained.every((m) => (m.json as { state: string }).state === 'offline')).toBe(true);
  });

  it('accelerated, never stamps a sample after the wall clock: it starts in the past, catches up, then runs in real time', async () => {
    const sink = await collectMessages(broker.url, 'tsunagaru/v1/+/+/telemetry');
    closers.push(() => sink.close());
    // A 15-minute meter at 3600× reports every 0.25 s; started 30 min back, it meets the wall clock at once.
    const meters = devices.filter((d) => d.type === 'water-meter');
    const started = Date.now();
    fleet = await startFleet({ url: broker.url, devices: meters, secrets, speed: 3600, startTs: started - 30 * 60_000 });
    // The catching up (t0 − 30 min and t0 − 15 min at least), however long a loaded machine takes to
    // deliver it (a fixed 1.5 s failed there once), then 1 s more at 3600×: an hour of the fleet's clock.
    const until = Date.now() + 20_000;
    while (sink.messages.length < meters.length * 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    await fleet.stop({ graceful: false });
    const ended = Date.now();
    const stamped = sink.messages.map((m) => Math.max(...(m.json as { samples: Array<{ ts: number }> }).samples.map((x) => x.ts)));
    expect(stamped.length).toBeGreaterThanOrEqual(meters.length * 2);
    expect(stamped.filter((ts) => ts > ended)).toEqual([]);
    // Without the cap, that hour would have added four samples a meter, from the future.
    expect(stamped.length).toBeLessThanOrEqual(meters.length * 3);
  });

  it('keeps running the devices that can connect and reports the ones refused', async () => {
    broker.broker.authenticate = (_client, username, _password, done) => {
      if (username === 'bsp-oshima-motomachi') done(Object.assign(new Error('disabled'), { returnCode: 5 as const }), null);
      else done(null, true);
    };
    fleet = await startFleet({ url: broker.url, devices, secrets, speed: 60, startTs: SUMMER_MIDNIGHT_JST });
    expect(fleet.stats()).toMatchObject({ connected: 14, errors: 1 });
    const [failure] = fleet.failures();
    expect(failure?.deviceId).toBe('bsp-oshima-motomachi');
    expect(failure?.error.message).toMatch(/not authorized.*secret/);
  });

  it('rejects when no device can start', async () => {
    broker.broker.authenticate = (_client, _username, _password, done) => done(Object.assign(new Error('no'), { returnCode: 4 as const }), null);
    await expect(startFleet({ url: broker.url, devices: devices.slice(0, 2), secrets })).rejects.toMatchObject({ code: 'EDGE_ERR_NOT_AUTHORIZED' });
  });

  it('checks the spec before connecting: secrets for every device, unique ids, positive speed', async () => {
    const { [devices[0]!.id]: _dropped, ...partial } = secrets;
    await expect(startFleet({ url: broker.url, devices, secrets: partial })).rejects.toThrow(new RegExp(`no secret for ${devices[0]!.id}`));
    await expect(startFleet({ url: broker.url, devices: [devices[0]!, devices[0]!], secrets })).rejects.toThrow(/duplicate ids/);
    await expect(startFleet({ url: broker.url, devices, secrets, speed: 0 })).rejects.toBeInstanceOf(FleetConfigError);
    expect(broker.broker.connectedClients).toBe(0);
  });
});
