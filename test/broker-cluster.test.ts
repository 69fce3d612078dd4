/**
 * The broker as a cluster of real processes (`broker/src/main.ts` with BROKER_REDIS_URL) sharing one
 * real redis-server: routing between nodes, persistent sessions and their offline queues, retained
 * births, takeover of a client id from another node, a node killed with SIGKILL, and auth/ACL on every
 * node against one registry file that the test writes (as the ingest would) while the nodes read it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { tryConnect } from './support/device-client.js';
import { processControl } from './support/child-process.js';
import { freePort } from './support/ports.js';
import { redisAvailable, startRedis, type RunningRedis } from './support/redis.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const ROOT = join(import.meta.dirname, '..');
const HEARTBEAT_MS = 500; // a dead node's wills come out within ~3.5 s instead of minutes
const INGEST = 'tsunagaru-ingest';
const INGEST_SECRET = 'ingest-secret-0123456789abcdef';

interface BrokerNode {
  id: string;
  url: string;
  output(): string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** One broker process; resolves when its log says it listens (MQTT_PORT=0: the OS picks the port). */
async function startNode(id: string, dataDir: string, redisUrl: string): Promise<BrokerNode> {
  const env = { ...process.env, DATA_DIR: dataDir, MQTT_PORT: '0', BROKER_REDIS_URL: redisUrl, BROKER_ID: id, BROKER_HEARTBEAT_MS: String(HEARTBEAT_MS), LOG_LEVEL: 'info' };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'broker/src/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id} not listening after 30 s: ${out.slice(-3000)}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"event":"broker_ready","host":"[^"]*","port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${out.slice(-3000)}`)));
  });
  return { id, url: `mqtt://127.0.0.1:${port}`, output: () => out, ...processControl(child, 10_000) };
}

const clients: MqttClient[] = [];

type Collected = ReturnType<typeof collect>;

/** Connects; what the client receives is collected from the start (queued messages may share a TCP read with the CONNACK). */
async function connect(url: string, username: string, password: string, extra: IClientOptions = {}): Promise<{ client: MqttClient; sessionPresent: boolean; got: Collected }> {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId: username, username, password, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
  clients.push(client);
  const got = collect(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet));
    client.once('error', reject);
  });
  return { client, sessionPresent: connack.sessionPresent, got };
}

/** Collects what a client receives, per topic, as payload strings in arrival order. */
function collect(client: MqttClient): { on(topic: string): string[]; retained: Array<{ topic: string; payload: string }> } {
  const byTopic = new Map<string, string[]>();
  const retained: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload, packet) => {
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic)!.push(payload.toString());
    if (packet.retain) retained.push({ topic, payload: payload.toString() });
  });
  return { on: (topic) => byTopic.get(topic) ?? [], retained };
}

/** Publishes seq from..to-1 at QoS 1, each awaited (its PUBACK), as numbered payloads. */
async function publishSeq(client: MqttClient, topic: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq++) await client.publishAsync(topic, JSON.stringify({ seq }), { qos: 1 });
}

function seqs(payloads: string[]): number[] {
  return payloads.map((p) => (JSON.parse(p) as { seq: number }).seq);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe.runIf(redisAvailable())('broker cluster over Redis: three nodes, one Redis', () => {
  const dir = makeTempDir('broker-cluster');
  let redis: RunningRedis;
  let registry: FileDeviceRegistry;
  let a: BrokerNode;
  let b: BrokerNode;
  let c: BrokerNode;
  const secrets: Record<string, string> = {};
  const topic = (id: string, channel: 'telemetry' | 'state') => buildTopic('smart-pole', id, channel);

  beforeAll(async () => {
    redis = await startRedis();
    // The test is the registry's one writer (the ingest's role); every node opens it read-only.
    registry = await FileDeviceRegistry.open({ path: registryPathFor(dir.path), scryptN: 1024 });
    for (const id of ['pole-fan', 'pole-q1', 'pole-q2', 'pole-q3', 'pole-birth', 'pole-take', 'pole-kill', 'pole-will', 'pole-acl', 'pole-out']) {
      secrets[id] = (await registry.provision({ id, type: 'smart-pole' })).secret;
    }
    await registry.upsertService(INGEST, 'ingest', INGEST_SECRET);
    [a, b, c] = (await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startNode(id, dir.path, redis.url)))) as [BrokerNode, BrokerNode, BrokerNode];
  });

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await Promise.all([a, b, c].map((n) => n?.stop()));
    await registry?.close();
    await redis?.dispose();
    dir.remove();
  });

  it('routes QoS 1 from a device on node A to a subscriber on node B: every message exactly once', async () => {
    // A persistent session, as the ingest's: its messages are also queued in Redis until acknowledged.
    const { client: sub, got } = await connect(b.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:fan`, clean: false });
    await sub.subscribeAsync(topic('pole-fan', 'telemetry'), { qos: 1 });
    const { client: device } = await connect(a.url, 'pole-fan', secrets['pole-fan']!);
    await publishSeq(device, topic('pole-fan', 'telemetry'), 0, 200);
    await waitFor('200 messages on node B', () => got.on(topic('pole-fan', 'telemetry')).length >= 200, 15_000, 50);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive within this
    expect(seqs(got.on(topic('pole-fan', 'telemetry')))).toEqual(range(0, 200));
  });

  it('keeps a persistent session made on node B while it is away: all 1200 queued via node A arrive at node C', async () => {
    // 1200 > aedes-persistence-redis' default of 1000 handed over at reconnect; 3 devices keep each under
    // its rate limit; 3 topics in one SUBSCRIBE, and restored at CONNECT, once hung (cluster.ts).
    const id = `${INGEST}:queue`;
    const devices = ['pole-q1', 'pole-q2', 'pole-q3'];
    const first = await connect(b.url, INGEST, INGEST_SECRET, { clientId: id, clean: false });
    await first.client.subscribeAsync(devices.map((d) => topic(d, 'telemetry')), { qos: 1 });
    await first.client.endAsync();
    await Promise.all(devices.map(async (d) => publishSeq((await connect(a.url, d, secrets[d]!)).client, topic(d, 'telemetry'), 0, 400)));
    const again = await connect(c.url, INGEST, INGEST_SECRET, { clientId: id, clean: false });
    expect(again.sessionPresent).toBe(true);
    const got = again.got;
    const total = () => devices.reduce((n, d) => n + got.on(topic(d, 'telemetry')).length, 0);
    await waitFor('1200 queued messages on node C', () => total() >= 1200, 20_000, 50);
    await new Promise((r) => setTimeout(r, 300));
    for (const d of devices) expect(seqs(got.on(topic(d, 'telemetry')))).toEqual(range(0, 400));
  });

  it('delivers a retained birth published on node A to a new subscriber on node B', async () => {
    const { client: device } = await connect(a.url, 'pole-birth', secrets['pole-birth']!);
    await device.publishAsync(topic('pole-birth', 'state'), '{"online":true,"boot":7}', { qos: 1, retain: true });
    const { client: sub, got } = await connect(b.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:birth` });
    await sub.subscribeAsync(topic('pole-birth', 'state'), { qos: 1 });
    await waitFor('the retained birth on node B', () => got.retained.length >= 1, 5000, 50);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.retained).toEqual([{ topic: topic('pole-birth', 'state'), payload: '{"online":true,"boot":7}' }]);
  });

  it('lets the same client id on node B take the session over from node A, whose connection is closed and whose will is not announced', async () => {
    const { client: watcher, got } = await connect(c.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:take` });
    await watcher.subscribeAsync(topic('pole-take', 'state'), { qos: 1 });
    const will = { topic: topic('pole-take', 'state'), payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
    const { client: onA } = await connect(a.url, 'pole-take', secrets['pole-take']!, { will });
    const closed = closedWithin(onA, 5000);
    const { client: onB } = await connect(b.url, 'pole-take', secrets['pole-take']!, { will });
    await onB.publishAsync(topic('pole-take', 'state'), '{"online":true}', { qos: 1, retain: true });
    expect(await closed).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // node A's will, were it published, would be out by now
    expect(onB.connected).toBe(true);
    // Node A's will would call a live device dead, and nothing orders it against the birth on node B.
    expect(got.on(topic('pole-take', 'state'))).toEqual(['{"online":true}']);
  });

  it('enforces auth and the ACL on every node, and every node sees a device provisioned after it started', async () => {
    const { client: watcher, got } = await connect(c.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:acl` });
    await watcher.subscribeAsync(topic('pole-fan', 'telemetry'), { qos: 1 });
    for (const node of [a, b, c]) {
      expect(await tryConnect(node.url, 'pole-acl', 'wrong-secret-0123456789')).toBe(4);
      const { client: device } = await connect(node.url, 'pole-acl', secrets['pole-acl']!);
      const closed = closedWithin(device, 5000);
      device.publish(topic('pole-fan', 'telemetry'), '{"seq":-1}', { qos: 1 }); // another device's topic
      expect(await closed).toBe(true);
    }
    const late = await registry.provision({ id: 'pole-late', type: 'smart-pole' });
    for (const node of [a, b, c]) {
      await waitFor(`node ${node.id} to accept pole-late`, async () => (await tryConnect(node.url, 'pole-late', late.secret)) === 'connected', 10_000, 200);
    }
    expect(got.on(topic('pole-fan', 'telemetry'))).toEqual([]);
  });

  it('survives a SIGKILLed node: its device carries on elsewhere, queued messages stay, the will of a device that does not return is published once', async () => {
    // A persistent session that is away the whole time: it must get every message, from before and after the kill.
    const id = `${INGEST}:kill`;
    const away = await connect(a.url, INGEST, INGEST_SECRET, { clientId: id, clean: false });
    await away.client.subscribeAsync([topic('pole-kill', 'telemetry'), topic('pole-kill', 'state'), topic('pole-will', 'state')], { qos: 1 });
    await away.client.endAsync();
    const { client: live, got: watched } = await connect(b.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:live` });
    await live.subscribeAsync([topic('pole-kill', 'state'), topic('pole-will', 'state')], { qos: 1 });

    const will = (deviceId: string) => ({ topic: topic(deviceId, 'state'), payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true });
    const onC = await connect(c.url, 'pole-kill', secrets['pole-kill']!, { will: will('pole-kill') });
    await connect(c.url, 'pole-will', secrets['pole-will']!, { will: will('pole-will') });
    // Pipelined, so that node C is still routing messages it has acknowledged when it is killed.
    await Promise.all(range(0, 100).map((seq) => onC.client.publishAsync(topic('pole-kill', 'telemetry'), JSON.stringify({ seq }), { qos: 1 })));
    await c.kill();

    // The device comes back on node B at once, announces itself, carries on.
    const onB = await connect(b.url, 'pole-kill', secrets['pole-kill']!, { will: will('pole-kill') });
    await onB.client.publishAsync(topic('pole-kill', 'state'), '{"online":true}', { qos: 1, retain: true });
    await publishSeq(onB.client, topic('pole-kill', 'telemetry'), 100, 200);

    // pole-will never returns: after 3 missed heartbeats of node C a surviving node publishes its will.
    await waitFor("pole-will's will", () => watched.on(topic('pole-will', 'state')).length >= 1, 15_000, 100);
    await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_MS * 2)); // two more sweeps: a second copy would be out by now
    expect(watched.on(topic('pole-will', 'state'))).toEqual(['{"online":false}']);
    // pole-kill's will from node C is stale (the device is back on B): announcing it would declare a live device dead.
    expect(watched.on(topic('pole-kill', 'state'))).toEqual(['{"online":true}']);

    const back = await connect(a.url, INGEST, INGEST_SECRET, { clientId: id, clean: false });
    expect(back.sessionPresent).toBe(true);
    const got = back.got;
    const distinct = () => new Set(seqs(got.on(topic('pole-kill', 'telemetry'))));
    await waitFor('200 distinct messages for the session that was away', () => distinct().size >= 200, 15_000, 50);
    await new Promise((r) => setTimeout(r, 300));
    // Node C acknowledged its last messages before routing them (aedes does); its in-flight list in
    // Redis is republished by a survivor. At least once: a message both routed and republished comes twice.
    expect([...distinct()].sort((x, y) => x - y)).toEqual(range(0, 200));
    const replayed = [a, b].reduce((n, node) => n + [...node.output().matchAll(/"event":"mqtt_inflight_replayed","deadNode":"node-c","messages":(\d+)/g)].reduce((m, r) => m + Number(r[1]), 0), 0);
    expect(got.on(topic('pole-kill', 'telemetry')).length - 200).toBeLessThanOrEqual(replayed);
    expect(got.on(topic('pole-kill', 'state'))).toEqual(['{"online":true}']);
    expect(got.on(topic('pole-will', 'state'))).toEqual(['{"online":false}']);
  });

  it('rides out a Redis outage: no crash, no PUBACK and no login while Redis is away, routing again once it is back', async () => {
    const { client: sub, got } = await connect(b.url, INGEST, INGEST_SECRET, { clientId: `${INGEST}:outage` });
    await sub.subscribeAsync(topic('pole-out', 'telemetry'), { qos: 1 });
    const { client: device } = await connect(a.url, 'pole-out', secrets['pole-out']!);
    await redis.stop();
    await waitFor('node A to notice', () => a.output().includes('"event":"redis_connection_lost"'), 10_000, 50);
    const closed = closedWithin(device, 5000);
    device.publish(topic('pole-out', 'telemetry'), '{"seq":0}', { qos: 1 }); // would be acknowledged, then lost
    expect(await closed).toBe(true);
    expect(await tryConnect(a.url, 'pole-out', secrets['pole-out']!)).toBe(3); // server unavailable: retry later

    await redis.start(); // an empty Redis: this one keeps nothing on disk
    for (const node of [a, b]) await waitFor(`node ${node.id} to reconnect`, () => node.output().includes('"event":"redis_connection_restored"'), 15_000, 100);
    await waitFor('node A to accept logins again', async () => (await tryConnect(a.url, 'pole-out', secrets['pole-out']!)) === 'connected', 10_000, 200);
    const again = await connect(a.url, 'pole-out', secrets['pole-out']!);
    await publishSeq(again.client, topic('pole-out', 'telemetry'), 1, 11);
    await waitFor('10 messages on node B', () => got.on(topic('pole-out', 'telemetry')).length >= 10, 10_000, 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(seqs(got.on(topic('pole-out', 'telemetry')))).toEqual(range(1, 11));
  });

  it('refuses to start when Redis is unreachable, saying what to do', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const failed = await startNode('node-x', dir.path, nowhere).then(() => 'started', (err: Error) => err.message);
    expect(failed).toMatch(/exited with 1/);
    expect(failed).toMatch(/BROKER_ERR_REDIS: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(BROKER_REDIS_URL\).*Start Redis there/);
  });
});
