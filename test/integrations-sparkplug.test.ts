/**
 * Sparkplug B 3.0 edge nodes → Tsunagaru as a host application, with real brokers (issue 20): mosquitto as
 * the Sparkplug broker, and our broker with an edge node logging in as an integration principal. The
 * simulated edge nodes (a pump station, a DC plant) keep the ground truth of what they sent and dropped;
 * the ledger must show exactly the dropped messages as gaps, across rebirths and seq wrap-arounds.
 */
import { dcPlant, pumpStation, type BirthTruth, type SimulatedSite } from '@tsunagaru/simulators';
import { connectAsync } from 'mqtt';
import sparkplug from 'sparkplug-payload';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquittoWithAcl } from './support/mosquitto-acl.js';
import { mosquittoAvailable, type RunningMosquitto } from './support/mosquitto.js';
import { waitFor } from './support/wait-for.js';
import { ledgerOf, startIntegrationStack, type IntegrationStack, type LedgerBoot } from './support/integration-stack.js';
import type { ApiClient } from './support/api-client.js';
import type { ProvisionInput } from '@tsunagaru/broker';

const SITES: ProvisionInput[] = [
  { id: 'ps-nakano-01', type: 'water-meter', attributes: { sparkplugGroup: 'city', sparkplugNode: 'PS01', sparkplugProfile: 'pump-station', dma: 'nakano-3' }, secret: null },
  { id: 'bs-minato-001', type: 'bs-power', attributes: { sparkplugGroup: 'city', sparkplugNode: 'DC01', sparkplugProfile: 'dc-plant' }, secret: null },
];

const codec = sparkplug.get('spBv1.0')!;
const SAMPLE_SEC = 60;

function expectLedgerMatches(boots: LedgerBoot[], births: BirthTruth[]): void {
  expect(boots.map((b) => ({ boot: b.boot, received: b.received, missing: b.missing }))).toEqual(births.map((t, i) => ({ boot: i, received: t.sent - t.dropped.length, missing: t.expectedMissing })));
}

const statusOf = async (api: ApiClient, id: string) => (await api.get<{ status: { online: boolean; boot: number } }>(`/api/v1/devices/${id}`)).body.status;

/** The boot the host gave the edge node's session with this bdSeq, once it is born (the host's own view). */
const hostBootOf = (s: IntegrationStack, edgeNodeId: string, bdSeq: number) =>
  waitFor(`the host's boot for ${edgeNodeId} bdSeq ${bdSeq}`, () => {
    const n = s.ingest.integrations?.status().sparkplug?.nodes.find((x) => x.edgeNodeId === edgeNodeId);
    return n?.bdSeq === bdSeq && n.online ? n.boot! + 1 : undefined; // + 1: boot 0 is falsy
  }, 30_000).then((b) => b - 1);

/** Waits until the device's status is exactly this (online or not, in this boot). */
const statusIsNow = (s: IntegrationStack, id: string, what: string, want: { online: boolean; boot: number }) =>
  waitFor(what, async () => {
    const st = await statusOf(s.api, id);
    return st.online === want.online && st.boot === want.boot ? st : undefined;
  }, 30_000);

describe.skipIf(!mosquittoAvailable())('Sparkplug B host application (issue 20)', () => {
  describe('edge nodes on mosquitto', () => {
    let mosquitto: RunningMosquitto;
    let s: IntegrationStack;
    const edgePassword = 'edge-node-secret-000001';
    const ingestPassword = 'tsunagaru-host-secret-01';

    beforeAll(async () => {
      mosquitto = await startMosquittoWithAcl(
        [
          { username: 'edge', password: edgePassword },
          { username: 'tsunagaru', password: ingestPassword },
        ],
        ['user edge', 'topic readwrite spBv1.0/#', '', 'user tsunagaru', 'topic readwrite spBv1.0/#', ''].join('\n'),
      );
      s = await startIntegrationStack({ SPARKPLUG: 'on', SPARKPLUG_MQTT_URL: mosquitto.url, SPARKPLUG_MQTT_USERNAME: 'tsunagaru', SPARKPLUG_MQTT_PASSWORD: ingestPassword, SPARKPLUG_GROUPS: 'city', SPARKPLUG_REORDER_TIMEOUT_MS: '250' }, SITES);
      await waitFor('the Sparkplug host connected', () => s.ingest.integrations?.status().sparkplug?.connected);
    });
    afterAll(async () => {
      await s?.close();
      await mosquitto?.stop();
    });

    it('publishes its STATE (retained, JSON); edge nodes waiting for it as primary host are born after it', async () => {
      const watcher = await connectAsync(mosquitto.url, { username: 'edge', password: edgePassword, clientId: 'state-watcher' });
      const state = new Promise<{ online: boolean; timestamp: number }>((resolve) => watcher.on('message', (_t, p) => resolve(JSON.parse(p.toString()))));
      await watcher.subscribeAsync('spBv1.0/STATE/tsunagaru', { qos: 1 });
      expect(await state).toEqual({ online: true, timestamp: expect.any(Number) });
      await watcher.endAsync();
    });

    it('numbers a pump station and a DC plant like the ledger wants: dropped messages are its gaps, across a rebirth and seq wrap-arounds', async () => {
      const t0 = Date.now() - 300 * SAMPLE_SEC * 1000;
      const conn = { url: mosquitto.url, username: 'edge', password: edgePassword, groupId: 'city', primaryHostId: 'tsunagaru' };
      const sites: SimulatedSite[] = [pumpStation({ ...conn, edgeNodeId: 'PS01', seed: 11, sampleSec: SAMPLE_SEC }), dcPlant({ ...conn, edgeNodeId: 'DC01', seed: 12, sampleSec: SAMPLE_SEC })];
      let round = 0;
      // Lost on the way: every 7th data message of rounds 5..25, none after, so the rebirth's boot runs long enough to wrap seq 255 → 0.
      let dataMessages = 0;
      for (const site of sites) site.node.drop = () => round >= 5 && round < 25 && ++dataMessages % 7 === 0;
      try {
        for (const site of sites) await site.start(t0);
        for (round = 1; round < 280; round++) {
          for (const site of sites) await site.step(t0 + round * SAMPLE_SEC * 1000);
          // The host's reorder timeout notices the gaps and asks for a rebirth mid-run: wait for that request
          // (a fixed pause was too short on a loaded machine, and the rebirth then came after the run).
          if (round === 29) await waitFor('a rebirth request at each node', () => sites.every((site) => site.node.rebirthRequests >= 1), 20_000, 20);
        }
        const truth = sites.map((site) => site.node.settle());
        for (const [i, id] of ['ps-nakano-01', 'bs-minato-001'].entries()) {
          const births = truth[i]!;
          const want = births.reduce((n, b) => n + b.sent - b.dropped.length, 0);
          await waitFor(`${id}'s ${want} messages in the ledger`, async () => (await ledgerOf(s.api, id)).reduce((n, b) => n + b.received, 0) === want, 20_000).catch(async (err: Error) => {
            throw new Error(`${err.message}; ledger ${JSON.stringify(await ledgerOf(s.api, id))}, sent ${JSON.stringify(births.map((b) => ({ cause: b.cause, sent: b.sent, dropped: b.dropped })))}`);
          });
          // The drops made gaps, the gaps a rebirth, the rebirth a new boot.
          expect(births.filter((b) => b.cause === 'rebirth').length).toBeGreaterThanOrEqual(1);
          expect(births.reduce((n, b) => n + b.expectedMissing, 0)).toBeGreaterThan(0);
          const boots = await ledgerOf(s.api, id);
          expectLedgerMatches(boots, births);
          // The last boot ran past seq 255 without a gap: unwrapped, not folded back onto 0..255.
          expect(boots.at(-1)!.highestSeq).toBeGreaterThan(300);
          expect(boots.at(-1)!.missing).toBe(0);
        }
        expect(sites.every((site) => site.node.rebirthRequests >= 1)).toBe(true);
        // Readings mapped from metric names through aliases: the DC plant's battery (a Sparkplug device) and mains.
        const dc = await s.api.get<{ latest: Record<string, { value: unknown }> }>('/api/v1/devices/bs-minato-001');
        expect(dc.body.latest.mains?.value).toBe('on');
        expect(dc.body.latest.batterySocPct?.value).toEqual(expect.any(Number));
        expect(dc.body.latest.generator?.value).toBe('off');
        const ps = await s.api.get<{ latest: Record<string, { value: unknown }> }>('/api/v1/devices/ps-nakano-01');
        expect(ps.body.latest.indexL?.value).toBeGreaterThan(40_000_000);
      } finally {
        for (const site of sites) await site.node.close();
      }
    });

    it('marks a node offline on its NDEATH, and a stale NDEATH (bdSeq of an earlier session) never marks the reborn node offline', { timeout: 120_000 }, async () => {
      // Every wait names the session it waits for (the host's boot for a bdSeq, the store's verdict on one
      // death), never "online" or "offline" alone or a pause: under load the previous test's wills (its nodes
      // end without DISCONNECT) are still on their way, and an unqualified wait was met by them.
      const conn = { url: mosquitto.url, username: 'edge', password: edgePassword, groupId: 'city', primaryHostId: 'tsunagaru' };
      const site = dcPlant({ ...conn, edgeNodeId: 'DC01', seed: 21, sampleSec: SAMPLE_SEC, bdSeq: 40 });
      const bootOf = (bdSeq: number) => hostBootOf(s, 'DC01', bdSeq);
      const statusIs = (what: string, want: { online: boolean; boot: number }) => statusIsNow(s, 'bs-minato-001', what, want);
      const t0 = Date.now() - 10 * SAMPLE_SEC * 1000;
      await site.start(t0);
      await site.step(t0 + SAMPLE_SEC * 1000);
      const born = await bootOf(40);
      await statusIs('DC01 online in the boot of bdSeq 40', { online: true, boot: born });
      // Power cut: the broker delivers the will (bdSeq 40).
      site.node.crash();
      await statusIs('DC01 offline in that boot after its will', { online: false, boot: born });
      // Back, a new MQTT session: bdSeq 41, a new boot.
      await site.start(t0 + 2 * SAMPLE_SEC * 1000);
      const reborn = await bootOf(41);
      expect(reborn).toBeGreaterThan(born);
      await statusIs('DC01 online again in the boot of bdSeq 41', { online: true, boot: reborn });
      // The old session's death arrives late (bdSeq 40): recorded, but the node stays online.
      const staleBefore = s.outcomes.filter((o) => o.kind === 'state' && o.deviceId === 'bs-minato-001' && o.stale).length;
      const late = await connectAsync(mosquitto.url, { username: 'edge', password: edgePassword, clientId: 'late-will' });
      await late.publishAsync('spBv1.0/city/NDEATH/DC01', Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: 40 }] })), { qos: 1 });
      await late.endAsync();
      // The store's verdict on that death: a stale one, which does not change the device's status.
      await waitFor('the store\'s verdict on the late death', () => s.outcomes.filter((o) => o.kind === 'state' && o.deviceId === 'bs-minato-001' && o.stale).length > staleBefore, 30_000);
      expect(s.ingest.integrations?.status().sparkplug?.staleDeaths).toBeGreaterThanOrEqual(1);
      expect(await statusOf(s.api, 'bs-minato-001')).toMatchObject({ online: true, boot: reborn });
      // The current session's death does mark it offline.
      await site.node.stop(Date.now());
      await statusIs('DC01 offline after its NDEATH', { online: false, boot: reborn });
      await site.node.close();
    });

    it('sends a command as DCMD (a device metric) or NCMD (a node metric) named in the mapping, acked when the edge node reports the written value', { timeout: 90_000 }, async () => {
      const conn = { url: mosquitto.url, username: 'edge', password: edgePassword, groupId: 'city', primaryHostId: 'tsunagaru' };
      const site = dcPlant({ ...conn, edgeNodeId: 'DC01', seed: 31, sampleSec: SAMPLE_SEC, bdSeq: 60 });
      // An independent witness of what the host publishes: the raw NCMD/DCMD on the broker.
      const watcher = await connectAsync(mosquitto.url, { username: 'edge', password: edgePassword, clientId: 'cmd-watcher' });
      const seen: Array<{ topic: string; metrics: Array<{ name?: string | null; value: unknown }> }> = [];
      watcher.on('message', (topic, p) => seen.push({ topic, metrics: (codec.decodePayload(p).metrics ?? []).map((m) => ({ name: m.name, value: m.value })) }));
      await watcher.subscribeAsync(['spBv1.0/city/NCMD/DC01', 'spBv1.0/city/DCMD/DC01/+'], { qos: 0 });
      try {
        await site.start(Date.now() - 5 * SAMPLE_SEC * 1000);
        const boot = await hostBootOf(s, 'DC01', 60);
        await statusIsNow(s, 'bs-minato-001', 'DC01 online in the boot of bdSeq 60', { online: true, boot });
        const commandOf = (cmdId: string, want: string) =>
          waitFor(`command ${cmdId} ${want}`, async () => {
            const r = await s.api.get<{ status: string; result: unknown; error: string | null }>(`/api/v1/devices/bs-minato-001/commands/${cmdId}`);
            return r.body.status === want ? r.body : undefined;
          }, 30_000);

        const test = await s.api.post<{ cmdId: string }>('/api/v1/devices/bs-minato-001/commands', { name: 'generator_test' });
        expect(test.status).toBe(201);
        expect((await commandOf(test.body.cmdId, 'acked')).result).toEqual({ metric: 'Test/Start', device: 'Generator', value: true, confirmedBy: 'DDATA' });
        expect(seen).toContainEqual({ topic: 'spBv1.0/city/DCMD/DC01/Generator', metrics: [{ name: 'Test/Start', value: true }] });
        expect(site.node.writes).toContainEqual({ verb: 'DCMD', device: 'Generator', metric: 'Test/Start', value: true });

        const interval = await s.api.post<{ cmdId: string }>('/api/v1/devices/bs-minato-001/commands', { name: 'set_sample_interval', args: { sec: 300 } });
        expect((await commandOf(interval.body.cmdId, 'acked')).result).toEqual({ metric: 'Properties/Sample Interval', value: 300, confirmedBy: 'NDATA' });
        expect(seen).toContainEqual({ topic: 'spBv1.0/city/NCMD/DC01', metrics: [{ name: 'Properties/Sample Interval', value: 300 }] });

        // The profile writes nothing for ping: refused at once, with the reason, and nothing goes out.
        const ping = await s.api.post<{ cmdId: string }>('/api/v1/devices/bs-minato-001/commands', { name: 'ping' });
        expect((await commandOf(ping.body.cmdId, 'failed')).error).toMatch(/profile "dc-plant" has no metric to write for "ping"/);
        expect(seen.filter((x) => !x.metrics.some((m) => m.name === 'Node Control/Rebirth'))).toHaveLength(2);
      } finally {
        await watcher.endAsync();
        await site.node.close();
      }
    });

    it('dead-letters an unprovisioned edge node and an undecodable payload, with the reason', async () => {
      const c = await connectAsync(mosquitto.url, { username: 'edge', password: edgePassword, clientId: 'stranger' });
      await c.publishAsync('spBv1.0/city/NBIRTH/XX99', Buffer.from(codec.encodePayload({ timestamp: Date.now(), seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] })), { qos: 1 });
      await c.publishAsync('spBv1.0/city/NDATA/PS01', Buffer.from('{"not":"protobuf"}'), { qos: 1 });
      await c.endAsync();
      const letters = await waitFor('two Sparkplug dead letters', async () => {
        const r = await s.api.get<{ deadLetters: Array<{ reason: string; topic: string }> }>('/api/v1/dead-letters?limit=100');
        const mine = r.body.deadLetters.filter((d) => d.topic === 'spBv1.0/city/NBIRTH/XX99' || (d.topic === 'spBv1.0/city/NDATA/PS01' && d.reason.includes('undecodable')));
        return mine.length >= 2 ? mine : undefined;
      });
      expect(letters.map((l) => l.reason)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^sparkplug: edge node city\/XX99 is not provisioned: provision a device with attributes sparkplugGroup=city, sparkplugNode=XX99/),
          expect.stringMatching(/^sparkplug: undecodable: not a Sparkplug B payload/),
        ]),
      );
    });
  });

  describe('on our broker, an edge node as an integration principal', () => {
    let s: IntegrationStack;
    beforeAll(async () => {
      s = await startIntegrationStack({ SPARKPLUG: 'on', SPARKPLUG_GROUPS: 'city' }, SITES);
      await waitFor('the Sparkplug host connected to our broker', () => s.ingest.integrations?.status().sparkplug?.connected);
    });
    afterAll(async () => s?.close());

    it('lets the node publish under its own edge node id only, and stores what it sends', async () => {
      const created = await s.api.post<{ secret: string; mqtt: { username: string } }>('/api/v1/integrations', { type: 'sparkplug', groupId: 'city', edgeNodeId: 'PS01' });
      expect(created.status).toBe(201);
      expect(created.body.mqtt.username).toBe('sparkplug-city-PS01');
      const site = pumpStation({ url: s.brokerUrl, username: created.body.mqtt.username, password: created.body.secret, groupId: 'city', edgeNodeId: 'PS01', seed: 5, sampleSec: SAMPLE_SEC, primaryHostId: 'tsunagaru' });
      const t0 = Date.now() - 20 * SAMPLE_SEC * 1000;
      await site.start(t0);
      for (let i = 1; i <= 10; i++) await site.step(t0 + i * SAMPLE_SEC * 1000);
      const births = site.node.settle();
      const want = births.reduce((n, b) => n + b.sent - b.dropped.length, 0);
      await waitFor('the pump station in the ledger', async () => (await ledgerOf(s.api, 'ps-nakano-01')).reduce((n, b) => n + b.received, 0) === want);
      expectLedgerMatches(await ledgerOf(s.api, 'ps-nakano-01'), births);
      await site.node.close();
      // Another edge node's topic is refused (the connection is closed, MQTT 3.1.1 has no negative PUBACK).
      const other = await connectAsync(s.brokerUrl, { username: created.body.mqtt.username, password: created.body.secret, clientId: `${created.body.mqtt.username}:x`, reconnectPeriod: 0 });
      const closed = new Promise<void>((r) => other.once('close', () => r()));
      other.publish('spBv1.0/city/NDATA/DC01', Buffer.from(codec.encodePayload({ timestamp: Date.now(), seq: 1, metrics: [] })), { qos: 1 });
      await closed;
      other.end(true);
    });
  });
});
