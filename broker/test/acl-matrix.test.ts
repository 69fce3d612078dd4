/**
 * The ACL matrix, live: every (principal, topic, action) combination below is tried over a real MQTT
 * connection to the real broker, and compared with an oracle written from the contract's table
 * (not with acl.ts, so the test cannot agree with a bug). Denied publishes must close the connection,
 * be logged, and reach no one (aedes' own `publish` event never sees them); denied subscriptions get
 * SUBACK 0x80; allowed ones must work, so the matrix cannot pass by denying everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect, denials, subscribeGranted, tryConnect, waitForClose } from './helpers.js';
import { INGEST, startTestBroker, type TestBroker } from './fixture.js';

const TYPES = ['smart-pole', 'water-meter', 'bs-power', 'ring-node'] as const;
const CHANNELS = ['telemetry', 'event', 'state', 'cmd', 'cmd/ack'] as const;
const IDS = ['pole-01', 'pole-02', 'wm-01'] as const;

type Subject = { name: string; kind: 'device'; id: string; type: string } | { name: string; kind: 'service' };
const SUBJECTS: Subject[] = [
  { name: 'pole-01', kind: 'device', id: 'pole-01', type: 'smart-pole' },
  { name: 'wm-01', kind: 'device', id: 'wm-01', type: 'water-meter' },
  { name: 'ingest', kind: 'service' },
];

/** Every contract-shaped topic for every type × id × channel, plus near misses and foreign roots. */
const PUBLISH_TOPICS: string[] = [
  ...TYPES.flatMap((type) => IDS.flatMap((id) => CHANNELS.map((ch) => `tsunagaru/v1/${type}/${id}/${ch}`))),
  'tsunagaru/v1/smart-pole/pole-01/telemetry/extra',
  'tsunagaru/v1/smart-pole/pole-01/debug',
  'tsunagaru/v1/smart-pole/pole-01',
  'tsunagaru/v1/smart-pole/pole-01/',
  'tsunagaru/v1/smart-pole/pole-01//telemetry',
  '/tsunagaru/v1/smart-pole/pole-01/telemetry',
  'Tsunagaru/v1/smart-pole/pole-01/telemetry',
  'tsunagaru/v2/smart-pole/pole-01/telemetry',
  'tsunagaru/v1/smart-pole/pole-0１/telemetry',
  'tsunagaru/v1/smart-pole/pole-01 /telemetry',
  'tsunagaru/v1/toaster/pole-01/cmd',
  '$SYS/broker/uptime',
  'somewhere/else',
];

const SUBSCRIBE_FILTERS: string[] = [
  ...PUBLISH_TOPICS,
  '#',
  '+/#',
  '+/v1/#',
  'tsunagaru/#',
  'tsunagaru/v1/#',
  'tsunagaru/v1/+/+/#',
  'tsunagaru/v1/+/+/cmd',
  'tsunagaru/v1/smart-pole/+/cmd',
  'tsunagaru/v1/+/pole-01/cmd',
  'tsunagaru/v1/smart-pole/pole-01/#',
  'tsunagaru/v1/smart-pole/pole-01/+',
  'tsunagaru/v1/smart-pole/pole-01/cmd/#',
  '$SYS/#',
];

const DEVICE_PUBLISH = ['telemetry', 'event', 'state', 'cmd/ack'];
const ID = '[A-Za-z0-9_-]{1,64}';
const SERVICE_CMD = new RegExp(`^tsunagaru/v1/(${TYPES.join('|')})/${ID}/cmd$`);

/** The contract's table ("Topics" in shared/contracts-v1.md and broker/README.md "ACL"), restated. */
function oraclePublish(s: Subject, topic: string, retain: boolean): boolean {
  if (s.kind === 'service') return SERVICE_CMD.test(topic) && !retain;
  return DEVICE_PUBLISH.some((ch) => topic === `tsunagaru/v1/${s.type}/${s.id}/${ch}` && (!retain || ch === 'state'));
}
function oracleSubscribe(s: Subject, filter: string): boolean {
  if (s.kind === 'service') return filter.startsWith('tsunagaru/v1/');
  return filter === `tsunagaru/v1/${s.type}/${s.id}/cmd`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

describe('ACL matrix, live over MQTT', () => {
  let t: TestBroker;
  const secrets: Record<string, string> = {};
  /** Every message aedes let through, keyed by its unique payload marker. */
  const delivered = new Map<string, { topic: string; clientId: string | undefined }>();
  let seq = 0;

  beforeAll(async () => {
    // Hundreds of refused connections from one address in seconds: this test checks that each refusal
    // is logged, so the connection log's per-address budget (tested in broker-connection-limits) is off.
    t = await startTestBroker({ connectionLog: false });
    secrets['pole-01'] = t.pole.password;
    secrets['wm-01'] = t.meter.password;
    secrets['pole-02'] = (await t.registry.provision({ id: 'pole-02', type: 'smart-pole' })).secret;
    t.broker.aedes.on('publish', (packet, client) => {
      const marker = /^acl-matrix-(\d+)$/.exec(packet.payload.toString())?.[0];
      if (marker) delivered.set(marker, { topic: packet.topic, clientId: client?.id });
    });
  });
  afterAll(async () => t?.stop());

  const credentials = (s: Subject) =>
    s.kind === 'service' ? { ...INGEST, clientId: `ingest:${++seq}` } : { username: s.id, password: secrets[s.id]!, clientId: `${s.id}:${++seq}` };

  type Outcome = { subject: string; topic: string; retain: boolean; expected: boolean; delivered: boolean; closed: boolean };

  async function tryPublish(s: Subject, topic: string, retain: boolean): Promise<Outcome> {
    const client = await connect(t.port, credentials(s));
    const marker = `acl-matrix-${++seq}`;
    const expected = oraclePublish(s, topic, retain);
    let closed = false;
    if (expected) {
      await client.publishAsync(topic, marker, { qos: 1, retain });
      closed = !client.connected;
    } else {
      const closing = waitForClose(client, 3000).then(() => true, () => false);
      client.publish(topic, marker, { qos: 1, retain }, () => undefined);
      closed = await closing;
    }
    if (retain && expected) await client.publishAsync(topic, '', { qos: 1, retain: true }); // clear the retained message
    await client.endAsync(true).catch(() => undefined);
    return { subject: s.name, topic, retain, expected, delivered: delivered.has(marker), closed };
  }

  it('publish: every combination the contract denies is refused, closed and delivered to no one; every allowed one goes through', async () => {
    const cases = SUBJECTS.flatMap((s) => PUBLISH_TOPICS.flatMap((topic) => [false, true].map((retain) => ({ s, topic, retain }))));
    const deniedBefore = denials(t.lines).length;
    const outcomes = await mapLimit(cases, 8, ({ s, topic, retain }) => tryPublish(s, topic, retain));
    await new Promise((r) => setTimeout(r, 200)); // anything in flight would have been routed by now

    const wrong = outcomes.filter((o) => o.delivered !== o.expected || o.closed === o.expected);
    expect(wrong).toEqual([]);
    const denied = outcomes.filter((o) => !o.expected);
    const allowed = outcomes.filter((o) => o.expected);
    // 3 principals × 73 topics × retain on/off; the allowed set is small and exact.
    expect(outcomes).toHaveLength(3 * PUBLISH_TOPICS.length * 2);
    expect(allowed.length).toBe(4 + 1 + 4 + 1 + 12);
    expect(denials(t.lines).length - deniedBefore).toBe(denied.length);
    for (const o of denied) expect(denials(t.lines).some((l) => l.topic === o.topic && l.username === (o.subject === 'ingest' ? 'ingest' : o.subject))).toBe(true);
  }, 60_000);

  it('subscribe: every filter the contract denies gets 0x80 and the session stays; allowed ones are granted', async () => {
    const results: Array<{ subject: string; filter: string; expected: boolean; granted: number }> = [];
    for (const s of SUBJECTS) {
      const client: MqttClient = await connect(t.port, credentials(s));
      for (const filter of SUBSCRIBE_FILTERS) {
        const [granted] = await subscribeGranted(client, filter, 1);
        results.push({ subject: s.name, filter, expected: oracleSubscribe(s, filter), granted: granted! });
      }
      expect(client.connected).toBe(true);
      await client.endAsync(true);
    }
    const wrong = results.filter((r) => (r.granted === 128) === r.expected);
    expect(wrong).toEqual([]);
    expect(results.filter((r) => r.expected).map((r) => `${r.subject} ${r.filter}`)).toEqual(
      expect.arrayContaining(['pole-01 tsunagaru/v1/smart-pole/pole-01/cmd', 'wm-01 tsunagaru/v1/water-meter/wm-01/cmd', 'ingest tsunagaru/v1/#']),
    );
    expect(results.filter((r) => r.expected && r.subject !== 'ingest')).toHaveLength(2);
  }, 60_000);

  it('connect: a device may not take another principal\'s client id (CONNACK 2)', async () => {
    for (const [user, clientId] of [['pole-01', 'pole-02'], ['pole-01', 'wm-01'], ['wm-01', 'ingest'], ['pole-01', 'pole-01x'], ['pole-01', 'pole-0']] as const) {
      const { error } = await tryConnect(t.port, { username: user, password: secrets[user]!, clientId });
      expect({ user, clientId, code: error?.code }).toEqual({ user, clientId, code: 2 });
    }
  });
});
