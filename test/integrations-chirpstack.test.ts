/**
 * ChirpStack v4 → Tsunagaru with real brokers (issue 20):
 * - way 2: ChirpStack's own mosquitto, the ingest subscribing to it (CHIRPSTACK_MQTT_URL);
 * - way 1: our broker, ChirpStack logging in as an integration principal made by POST /api/v1/integrations.
 * Events are the documented JSON shape (fixtures/ and the LoRaWAN simulator); the ledger is held to the
 * simulator's ground truth: the frames it dropped on the air are exactly the ledger's gaps.
 */
import { readFileSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { runChirpStackFleet, type MeterTruth } from '@tsunagaru/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquittoWithAcl } from './support/mosquitto-acl.js';
import { mosquittoAvailable, type RunningMosquitto } from './support/mosquitto.js';
import { waitFor } from './support/wait-for.js';
import { INTEGRATION_ADMIN_TOKEN, ledgerOf, startIntegrationStack, type IntegrationStack, type LedgerBoot } from './support/integration-stack.js';
import { chromiumAvailable, launchBrowser } from './support/browser.js';

const APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
const fixture = (name: string) => readFileSync(new URL(`../ingest/src/integrations/chirpstack/fixtures/${name}.json`, import.meta.url), 'utf8');


function expectLedgerMatchesTruth(boots: LedgerBoot[], truth: MeterTruth): void {
  expect(boots.map((b) => b.boot)).toEqual(truth.sessions.map((s) => s.session));
  for (const s of truth.sessions) {
    const b = boots.find((x) => x.boot === s.session)!;
    expect({ boot: b.boot, missing: b.missing, received: b.received }).toEqual({ boot: s.session, missing: s.expectedMissing, received: s.sent - s.lost.length });
  }
}

describe.skipIf(!mosquittoAvailable())('ChirpStack integration (issue 20)', () => {
  describe("through ChirpStack's own mosquitto (CHIRPSTACK_MQTT_URL)", () => {
    let mosquitto: RunningMosquitto;
    let s: IntegrationStack;
    const meters = [
      { id: 'wm-lora-0001', devEui: '0101010101010101' },
      { id: 'wm-lora-0002', devEui: '0202020202020202' },
      { id: 'wm-lora-0003', devEui: '0303030303030303' },
    ];
    const csPassword = 'chirpstack-broker-secret-01';
    const ingestOnCs = 'tsunagaru-on-chirpstack-01';

    beforeAll(async () => {
      // The ACL a ChirpStack installation would give each: ChirpStack everything under application/,
      // Tsunagaru the events and the downlink topic.
      mosquitto = await startMosquittoWithAcl(
        [
          { username: 'chirpstack', password: csPassword },
          { username: 'tsunagaru', password: ingestOnCs },
        ],
        ['user chirpstack', 'topic readwrite application/#', '', 'user tsunagaru', 'topic read application/+/device/+/event/+', 'topic write application/+/device/+/command/down', ''].join('\n'),
      );
      s = await startIntegrationStack(
        { CHIRPSTACK: 'on', CHIRPSTACK_MQTT_URL: mosquitto.url, CHIRPSTACK_MQTT_USERNAME: 'tsunagaru', CHIRPSTACK_MQTT_PASSWORD: ingestOnCs, CHIRPSTACK_APPLICATION_IDS: APP },
        meters.map((m) => ({ id: m.id, type: 'water-meter' as const, attributes: { devEui: m.devEui, dma: 'nakano-3' }, secret: null })),
      );
      await waitFor('the ingest on ChirpStack\'s broker', () => s.ingest.integrations?.status().chirpstack?.subscribed);
    });
    afterAll(async () => {
      await s?.close();
      await mosquitto?.stop();
    });

    it('turns a fleet with lost frames, rejoins and a late batch into a ledger whose gaps are exactly the lost frames', async () => {
      const run = await runChirpStackFleet({
        url: mosquitto.url,
        username: 'chirpstack',
        password: csPassword,
        applicationId: APP,
        meters: meters.map((m) => ({ devEui: m.devEui, deviceName: m.id })),
        frames: 40,
        sampleSec: 900,
        seed: 7,
        lossRate: 0.15,
        rejoinEvery: 15,
        lateBatch: { from: 3, to: 6 },
        statusEvery: 10,
      });
      try {
        const lost = run.truth.reduce((n, t) => n + t.sessions.reduce((m, x) => m + x.expectedMissing, 0), 0);
        // The seed makes frames drop; a run without any would prove nothing.
        expect(lost).toBeGreaterThan(5);
        for (const [i, m] of meters.entries()) {
          const truth = run.truth[i]!;
          const want = truth.sessions.reduce((n, x) => n + x.sent - x.lost.length, 0);
          await waitFor(`${m.id}'s ${want} frames in the ledger`, async () => (await ledgerOf(s.api, m.id)).reduce((n, b) => n + b.received, 0) === want);
          expectLedgerMatchesTruth(await ledgerOf(s.api, m.id), truth);
          // The register the meter last reported, and the best gateway's link quality, are readings.
          const device = await s.api.get<{ latest: Record<string, { value: unknown }> }>(`/api/v1/devices/${m.id}`);
          expect(device.body.latest.indexL?.value).toBe(truth.lastIndexL);
          expect(typeof device.body.latest.rssiDbm?.value).toBe('number');
          expect(typeof device.body.latest.snrDb?.value).toBe('number');
          // status events: battery and margin.
          const lora = await s.api.get<{ boot: number; status: { batteryPct: number; marginDb: number } | null }>(`/api/v1/integrations/lorawan/devices/${m.id}`);
          expect(lora.status).toBe(200);
          expect(lora.body.boot).toBe(truth.sessions.length - 1);
          expect(lora.body.status?.marginDb).toBeGreaterThanOrEqual(5);
          expect(lora.body.status?.batteryPct).toBeGreaterThan(0);
        }
        // A join is a birth: the meter is online in its latest boot.
        const status = await s.api.get<{ status: { online: boolean; boot: number } }>(`/api/v1/devices/${meters[0]!.id}`);
        expect(status.body.status).toMatchObject({ online: true, boot: run.truth[0]!.sessions.length - 1 });
      } finally {
        await run.close();
      }
    });

    it('sends a command as a confirmed downlink, acknowledged when the meter confirms; a command with no downlink fails with the reason', async () => {
      const run = await runChirpStackFleet({ url: mosquitto.url, username: 'chirpstack', password: csPassword, applicationId: APP, meters: [{ devEui: meters[1]!.devEui, deviceName: meters[1]!.id }], frames: 2, seed: 3, startTs: Date.now() - 60_000, sampleSec: 10 });
      try {
        const sent = await s.api.post<{ cmdId: string }>(`/api/v1/devices/${meters[1]!.id}/commands`, { name: 'set_sample_interval', args: { sec: 1800 } });
        expect(sent.status).toBe(201);
        const cmd = await waitFor('the ack of the confirmed downlink', async () => {
          const r = await s.api.get<{ status: string; result: unknown }>(`/api/v1/devices/${meters[1]!.id}/commands/${sent.body.cmdId}`);
          return r.body.status === 'acked' ? r.body : undefined;
        });
        expect(cmd.result).toMatchObject({ fCntDown: expect.any(Number) });
        const down = run.downlinks.get(meters[1]!.devEui)!;
        // ChirpStack's DownlinkCommand: our command's UUID as the queue item id; 0x01 then 1800 as u32 BE.
        expect(down).toEqual([{ id: sent.body.cmdId.slice(4), devEui: meters[1]!.devEui, confirmed: true, fPort: 10, data: Buffer.from([1, 0, 0, 7, 8]).toString('base64') }]);
        const reboot = await s.api.post<{ cmdId: string }>(`/api/v1/devices/${meters[1]!.id}/commands`, { name: 'reboot' });
        const failed = await waitFor('the refusal of a command without a downlink', async () => {
          const r = await s.api.get<{ status: string; error: string }>(`/api/v1/devices/${meters[1]!.id}/commands/${reboot.body.cmdId}`);
          return r.body.status === 'failed' ? r.body : undefined;
        });
        expect(failed.error).toMatch(/device profile "water-meter-index" has no downlink for "reboot"/);
      } finally {
        await run.close();
      }
    });

    it('dead-letters an unknown devEui, an undecodable uplink and a mapping failure, each with its reason', async () => {
      const cs = await connectAsync(mosquitto.url, { username: 'chirpstack', password: csPassword, clientId: 'cs-dead-letters' });
      const up = JSON.parse(fixture('up')) as Record<string, any>;
      const send = (devEui: string, ev: unknown) => cs.publishAsync(`application/${APP}/device/${devEui}/event/up`, JSON.stringify(ev), { qos: 1 });
      await send('0a0a0a0a0a0a0a0a', { ...up, deviceInfo: { ...up.deviceInfo, devEui: '0a0a0a0a0a0a0a0a', deviceName: 'stranger' } });
      const { object: _object, ...noObject } = up;
      await send(meters[2]!.devEui, { ...noObject, deviceInfo: { ...up.deviceInfo, devEui: meters[2]!.devEui } });
      await send(meters[2]!.devEui, { ...up, deviceInfo: { ...up.deviceInfo, devEui: meters[2]!.devEui }, object: { flowLph: 3 } });
      await cs.endAsync();
      const letters = await waitFor('three dead letters', async () => {
        const r = await s.api.get<{ deadLetters: Array<{ reason: string; deviceId: string | null; topic: string }> }>('/api/v1/dead-letters?limit=50');
        const mine = r.body.deadLetters.filter((d) => d.topic.startsWith('application/'));
        return mine.length >= 3 ? mine : undefined;
      });
      const reasons = letters.map((d) => d.reason);
      expect(reasons).toContainEqual(expect.stringMatching(/^chirpstack: devEui 0a0a0a0a0a0a0a0a \("stranger"\) is not provisioned: provision the meter with attribute devEui=0a0a0a0a0a0a0a0a/));
      expect(reasons).toContainEqual(expect.stringMatching(/^chirpstack: undecodable: the up event has no decoded object/));
      expect(reasons).toContainEqual(expect.stringMatching(/^chirpstack: mapping "water-meter-index": indexL ← object\.volumeL: not in the decoded object \(it has flowLph\)/));
      expect(letters.filter((d) => d.deviceId === meters[2]!.id)).toHaveLength(2);
    });
  });

  describe('on our broker, ChirpStack as an integration principal', () => {
    let s: IntegrationStack;
    const meter = { id: 'wm-lora-0101', devEui: '0101010101010101' };

    beforeAll(async () => {
      s = await startIntegrationStack({ CHIRPSTACK: 'on' }, [{ id: meter.id, type: 'water-meter', attributes: { devEui: meter.devEui }, secret: null }]);
      await waitFor('the ingest subscribed on our broker', () => s.ingest.integrations?.status().chirpstack?.subscribed);
    });
    afterAll(async () => s?.close());

    it('creates the principal (secret shown once), which may publish only its application\'s events', async () => {
      const created = await s.api.post<{ secret: string; mqtt: { username: string; publish: string[]; subscribe: string[] } }>('/api/v1/integrations', { type: 'chirpstack', applicationId: APP });
      expect(created.status).toBe(201);
      expect(created.body.mqtt).toMatchObject({ username: `chirpstack-${APP}`, publish: [`application/${APP}/device/+/event/+`], subscribe: [`application/${APP}/device/+/command/down`] });
      expect((await s.api.post('/api/v1/integrations', { type: 'chirpstack', applicationId: APP })).status).toBe(409);
      const list = await s.api.get<{ integrations: Array<Record<string, unknown>> }>('/api/v1/integrations');
      expect(JSON.stringify(list.body)).not.toContain(created.body.secret);

      const cs = await connectAsync(s.brokerUrl, { username: created.body.mqtt.username, password: created.body.secret, clientId: created.body.mqtt.username, reconnectPeriod: 0 });
      // The documented events, in order: join, then the up with fCnt 7 (frames 0..6 never arrived), status, an ack
      // for a downlink Tsunagaru did not queue (ignored), a txack (not data).
      for (const name of ['join', 'up', 'status', 'ack', 'txack']) await cs.publishAsync(`application/${APP}/device/${meter.devEui}/event/${name === 'join' ? 'join' : name}`, fixture(name), { qos: 1 });
      expect((await cs.subscribeAsync(`application/${APP}/device/+/command/down`)).map((g) => g.qos)).toEqual([0]);
      // MQTT.js turns a SUBACK refusal (0x80) into an error.
      await expect(cs.subscribeAsync('application/other/device/+/command/down')).rejects.toThrow(/Subscribe error/);
      // Another application's topic: refused (aedes closes the connection on MQTT 3.1.1).
      const closed = new Promise<void>((r) => cs.once('close', () => r()));
      cs.publish(`application/another-app/device/${meter.devEui}/event/up`, fixture('up'), { qos: 1 });
      await closed;
      cs.end(true);

      const boots = await waitFor('the fixture uplink in the ledger', async () => ((await ledgerOf(s.api, meter.id)).length > 0 ? ledgerOf(s.api, meter.id) : undefined));
      expect(boots).toEqual([expect.objectContaining({ boot: 0, received: 1, missing: 7 })]);
      const readings = await s.api.get<{ readings: Array<Record<string, unknown>> }>(`/api/v1/devices/${meter.id}/readings?from=2026-07-18T00:00:00Z&to=2026-07-19T00:00:00Z`);
      expect(readings.body.readings).toEqual([expect.objectContaining({ boot: 0, seq: 7, ts: Date.parse('2026-07-18T09:34:15.775Z'), indexL: 12345, flowLph: 200, batteryPct: 90, rssiDbm: -36, snrDb: 10.5 })]);
      const lora = await s.api.get<{ status: Record<string, unknown>; sessions: unknown[] }>(`/api/v1/integrations/lorawan/devices/${meter.id}`);
      expect(lora.body.status).toEqual({ batteryPct: 88.3, externalPower: false, marginDb: 10, at: Date.parse('2026-07-18T09:35:06.927Z') });
      expect(lora.body.sessions).toEqual([{ boot: 0, joinedAt: Date.parse('2026-07-18T09:33:28.823Z'), fcntBase: 0 }]);
      const denials = s.logs.filter((l) => l.event === 'mqtt_denied' && l.reason === 'publish_denied');
      expect(denials.length).toBeGreaterThan(0);

      // The status reaches where operators look: the device's latest battery (the status is newer than the
      // uplink's 90 %) and its link margin, marked as the network server's, not a reading.
      const statusAt = Date.parse('2026-07-18T09:35:06.927Z');
      const device = await s.api.get<{ latest: Record<string, { value: unknown; ts: number; source?: string }> }>(`/api/v1/devices/${meter.id}`);
      expect(device.body.latest.batteryPct).toEqual({ value: 88.3, ts: statusAt, source: 'lorawan-status' });
      expect(device.body.latest.linkMarginDb).toEqual({ value: 10, ts: statusAt, source: 'lorawan-status' });
      expect(device.body.latest.indexL).toEqual({ value: 12345, ts: Date.parse('2026-07-18T09:34:15.775Z') });
      // A flat battery reported only by the network server raises the meter's low-battery alert.
      const again = await connectAsync(s.brokerUrl, { username: created.body.mqtt.username, password: created.body.secret, clientId: created.body.mqtt.username, reconnectPeriod: 0 });
      const flat = { ...JSON.parse(fixture('status')), time: '2026-07-18T10:35:06.927000000+00:00', batteryLevel: 4 };
      await again.publishAsync(`application/${APP}/device/${meter.devEui}/event/status`, JSON.stringify(flat), { qos: 1 });
      await again.endAsync();
      const alert = await waitFor('the low-battery alert', async () => {
        const r = await s.api.get<{ alerts: Array<{ type: string; deviceId: string; message: string }> }>(`/api/v1/alerts?deviceId=${meter.id}&type=water-low-battery`);
        return r.body.alerts[0];
      });
      expect(alert.message).toMatch(/meter battery 4 %/);
      expect((await s.api.get<{ latest: Record<string, { value: unknown }> }>(`/api/v1/devices/${meter.id}`)).body.latest.batteryPct?.value).toBe(4);
    });

    it.runIf(chromiumAvailable())("shows the network server's battery and link margin on the console's device page, marked as such", async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(s.ingest.httpUrl);
        await page.getByLabel('API token').fill(INTEGRATION_ADMIN_TOKEN);
        await page.getByRole('button', { name: 'Sign in' }).click();
        const row = page.locator('#device-rows tr', { hasText: meter.id });
        await row.waitFor();
        await row.focus();
        await page.keyboard.press('Enter');
        const latest = page.getByTestId('latest');
        await latest.waitFor();
        const text = (await latest.textContent()) ?? '';
        expect(text).toContain('batteryPct4 % (from the LoRaWAN network server)');
        expect(text).toContain('linkMarginDb10 dB (from the LoRaWAN network server)');
        expect(text).toContain('indexL12345 L');
      } finally {
        await browser.close();
      }
    });
  });
});
