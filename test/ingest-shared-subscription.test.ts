/**
 * Scale-out: three ingest workers (`ingest/src/main.ts` child processes, as `npm run ingest` runs them)
 * share the feed through an MQTT 5 shared subscription on Debian's mosquitto 2.0 (our generated
 * dynamic-security auth), writing into one InfluxDB 1.6. One worker is SIGKILLed mid-stream and started
 * again with the same data dir and client id. Every (id, boot, seq) must be in the store exactly once, each
 * message must have been taken in by exactly one worker, each worker must have had a share, and what was
 * published while the killed worker was down must be there too. A worker stopped with SIGTERM leaves the
 * group, so what follows goes to the two still running. A fourth, non-shared instance with alerts on
 * (the README's way to run alerting) sees the whole stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { FileDeviceRegistry, registryPathFor, writeMosquittoConfig, type MosquittoCredential } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { apiClient } from './support/api-client.js';
import { mosquittoAvailable, MOSQUITTO_BIN } from './support/mosquitto.js';
import { freePort, portOpen } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';
import { INFLUX_ADMIN, INFLUXD_BIN, influxRows, serverAvailable, startInfluxDb16, type TsdbServer } from './support/tsdb.js';
import { waitFor } from './support/wait-for.js';

const ROOT = join(import.meta.dirname, '..');
const TOKEN = 'shared-sub-test-admin-token-0123456789';
const INGEST = { username: 'tsunagaru-ingest', password: 'ingest-service-secret-0123456789' };
const DEVICES = 6;
const PER_DEVICE = 500;
const TOTAL = DEVICES * PER_DEVICE;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const DB = 'tsunagaru';

interface Worker {
  name: string;
  dir: string;
  api: ReturnType<typeof apiClient>;
  child: ChildProcess;
  out: string;
}

/** `npm run ingest` as a share-group worker; resolves once mosquitto granted its shared subscription. */
async function startWorker(name: string, dir: string, env: Record<string, string>): Promise<Worker> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ingest/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env, DATA_DIR: dir, HTTP_PORT: String(port), INGEST_CLIENT_ID: name, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: Worker = { name, dir, api: apiClient(`http://127.0.0.1:${port}`, TOKEN), child, out: '' };
  child.stdout!.on('data', (d: Buffer) => (w.out = (w.out + d.toString()).slice(-8000)));
  child.stderr!.on('data', (d: Buffer) => (w.out = (w.out + d.toString()).slice(-8000)));
  await waitFor(`${name} subscribed at mosquitto`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${w.out}`);
    // The broker detail of health is for tokens (without one it answers the status only).
    const health = await w.api.get('/api/v1/health').then((r) => r.body, () => undefined);
    return health?.mqtt?.subscribed === true;
  }, 45_000, 100);
  return w;
}

const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

/** Water meters publishing numbered telemetry over MQTT 3.1.1, QoS 1; records when each seq was handed to MQTT.js. */
async function startDevices(url: string, secrets: Map<string, string>, intervalMs: number, seqs: { from: number; count: number }) {
  const sentAt = new Map<string, number>();
  let published = 0;
  let acked = 0;
  const clients: MqttClient[] = [];
  const loops = [...secrets].map(async ([id, secret]) => {
    const client = mqtt.connect(url, { protocolVersion: 4, clientId: id, username: id, password: secret, clean: false, reconnectPeriod: 250 });
    clients.push(client);
    await new Promise<void>((resolve, reject) => (client.once('connect', () => resolve()), client.once('error', reject)));
    const topic = buildTopic('water-meter', id, 'telemetry');
    const acks: Array<Promise<unknown>> = [];
    for (let seq = seqs.from; seq < seqs.from + seqs.count; seq++) {
      const ts = T0 + seq * 1000;
      sentAt.set(`${id}/${seq}`, Date.now());
      published++;
      const sample = { ts, indexL: 1_000_000 + seq * 7, batteryPct: lowBattery(id, seq) ? 5 : 60 };
      acks.push(client.publishAsync(topic, JSON.stringify({ v: 1, id, boot: 1, seq, ts, samples: [sample] }), { qos: 1 }).then(() => acked++));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await Promise.all(acks);
  });
  return { sentAt, published: () => published, acked: () => acked, done: Promise.all(loops), close: () => Promise.all(clients.map((c) => c.endAsync(true))) };
}

/** One message below the water-low-battery threshold (10 %): an alert only the whole-stream instance may raise. */
const lowBattery = (id: string, seq: number) => id === 'wm-share-0' && seq === 100;

/** The seqs a worker's completeness ledger says it took in, per device (ranges of boot 1). */
async function ledgerSeqs(w: Worker, ids: string[]): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  for (const id of ids) {
    const res = await w.api.get(`/api/v1/ledger/${id}`);
    const seqs = new Set<number>();
    for (const b of (res.body.boots ?? []) as Array<{ boot: number; ranges: Array<[number, number]> }>) {
      expect(b.boot).toBe(1);
      for (const [from, to] of b.ranges) for (let s = from; s <= to; s++) seqs.add(s);
    }
    out.set(id, seqs);
  }
  return out;
}

describe.runIf(mosquittoAvailable() && serverAvailable(INFLUXD_BIN))('ingest workers sharing the feed (MQTT 5 $share on mosquitto)', () => {
  const tmp = makeTempDir('shared-sub');
  let influx: TsdbServer | undefined;
  let mosquitto: ChildProcess | undefined;
  const workers: Worker[] = [];
  let alerting: Worker | undefined;
  let devices: Awaited<ReturnType<typeof startDevices>> | undefined;
  let later: Awaited<ReturnType<typeof startDevices>> | undefined;
  afterAll(async () => {
    await devices?.close();
    await later?.close();
    await Promise.all([...workers, ...(alerting ? [alerting] : [])].map(async (w) => (w.child.kill('SIGTERM'), await exited(w.child))));
    if (mosquitto) (mosquitto.kill('SIGTERM'), await exited(mosquitto));
    await influx?.dispose();
    tmp.remove();
  });

  it('stores every reading exactly once across a worker SIGKILL, every worker takes a share, a stopped worker leaves the group', { timeout: 120_000 }, async () => {
    influx = await startInfluxDb16(DB);
    const ids = Array.from({ length: DEVICES }, (_, i) => `wm-share-${i}`);
    const secrets = new Map(ids.map((id) => [id, `device-secret-${id}-0123456789`]));
    const credentials: MosquittoCredential[] = [
      { ...INGEST, role: 'ingest' },
      ...ids.map((id) => ({ username: id, password: secrets.get(id)!, role: 'device' as const, type: 'water-meter' as const })),
    ];
    const mqttPort = await freePort();
    const conf = await writeMosquittoConfig({ dir: join(tmp.path, 'mosquitto'), port: mqttPort, credentials, authorisation: 'dynamic-security' });
    let mosquittoOut = '';
    mosquitto = spawn(MOSQUITTO_BIN, ['-c', conf.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    mosquitto.stderr!.on('data', (d: Buffer) => (mosquittoOut += d.toString()));
    await waitFor(`mosquitto on ${mqttPort}`, () => (mosquitto!.exitCode !== null ? Promise.reject(new Error(mosquittoOut)) : portOpen(mqttPort)), 10_000);
    const url = `mqtt://127.0.0.1:${mqttPort}`;

    // Each worker's own registry must know the devices (the pipeline refuses unprovisioned ones).
    const dirs = ['ingest-w1', 'ingest-w2', 'ingest-w3', 'tsunagaru-alerts'].map((name) => ({ name, dir: join(tmp.path, name) }));
    for (const { dir } of dirs) {
      const registry = await FileDeviceRegistry.open({ path: registryPathFor(dir), scryptN: 1024 });
      for (const id of ids) await registry.provision({ id, type: 'water-meter', attributes: { dma: 'shinjuku-1' }, secret: null });
      await registry.close();
    }
    const env = {
      MQTT_URL: url,
      MQTT_USERNAME: INGEST.username,
      MQTT_PASSWORD: INGEST.password,
      INGEST_SHARE_GROUP: 'ingest',
      STORE: 'influx-v1',
      INFLUX_URL: influx.url,
      INFLUX_DB: DB,
      INFLUX_USER: INFLUX_ADMIN.user,
      INFLUX_PASSWORD: INFLUX_ADMIN.password,
      TSUNAGARU_ADMIN_TOKEN: TOKEN,
    };
    // The README's alerting instance: not in the group, so it gets every message (own DuckDB, alerts on).
    const started = await Promise.all(dirs.map((d) => startWorker(d.name, d.dir, d.name === 'tsunagaru-alerts' ? { ...env, INGEST_SHARE_GROUP: '', STORE: 'duckdb' } : env)));
    alerting = started.pop();
    workers.push(...started);

    // A device must not be able to join the group: mosquitto would give it a turn, refuse the delivery (READ)
    // and drop the message (see broker/src/mosquitto-config.ts).
    const intruder = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'intruder', username: ids[0]!, password: secrets.get(ids[0]!)! });
    const refused = await intruder.subscribeAsync('$share/ingest/tsunagaru/v1/#', { qos: 1 }).then(
      (granted) => granted.map((g) => g.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    await intruder.endAsync();
    expect(refused).toEqual([0x87]);

    devices = await startDevices(url, secrets, 12, { from: 0, count: PER_DEVICE });
    const victim = workers[1]!;
    await waitFor('a fifth of the feed published', () => devices!.published() >= TOTAL / 5, 30_000, 10);
    victim.child.kill('SIGKILL');
    await exited(victim.child);
    const killedAt = Date.now();
    await waitFor('more published while the worker is down', () => devices!.published() >= TOTAL / 2, 30_000, 10);
    workers[1] = await startWorker(victim.name, victim.dir, env);
    const restartedAt = Date.now();
    await devices.done;

    const countStored = async () => Number((await influxRows(influx!.url, DB, `SELECT count("seq") FROM "water_meter" WHERE time >= ${T0}ms`))[0]?.count ?? 0);
    await waitFor(`${TOTAL} readings in InfluxDB`, async () => (await countStored()) >= TOTAL, 45_000, 250);
    const rows = await influxRows(influx.url, DB, `SELECT "boot", "seq", "indexL" FROM "water_meter" WHERE time >= ${T0}ms GROUP BY "deviceId"`);
    expect(rows).toHaveLength(TOTAL);
    const keys = rows.map((r) => `${r.deviceId as string}/${r.boot as number}/${r.seq as number}`);
    const stored = new Set(keys);
    expect(stored.size).toBe(TOTAL);
    const missing = ids.flatMap((id) => Array.from({ length: PER_DEVICE }, (_, seq) => `${id}/1/${seq}`)).filter((k) => !stored.has(k));
    expect(missing).toEqual([]);
    expect(rows.every((r) => r.indexL === 1_000_000 + (r.seq as number) * 7 && r.time === T0 + (r.seq as number) * 1000)).toBe(true);

    // The README's completeness check across workers, on the shared store: per device, count = max − min + 1.
    const perDevice = await influxRows(influx.url, DB, `SELECT count("seq"), min("seq"), max("seq") FROM "water_meter" WHERE "boot" = 1 AND time >= ${T0}ms GROUP BY "deviceId"`);
    expect(perDevice.map((r) => [r.deviceId, r.count, r.min, r.max])).toEqual(ids.map((id) => [id, PER_DEVICE, 0, PER_DEVICE - 1]));

    // Each message went to one worker only, each worker had a share, and together they saw everything.
    const perWorker = await Promise.all(workers.map((w) => ledgerSeqs(w, ids)));
    const shares = perWorker.map((m) => [...m.values()].reduce((n, s) => n + s.size, 0));
    for (const id of ids) {
      const all = perWorker.flatMap((m) => [...m.get(id)!]);
      expect(all.length).toBe(PER_DEVICE);
      expect(new Set(all).size).toBe(PER_DEVICE);
    }
    for (const share of shares) expect(share).toBeGreaterThan(TOTAL / 10);

    // Published while the victim was down: all stored, and part of them came to the victim after its restart
    // (mosquitto queued its turns in its offline session rather than handing them to the others).
    const downWindow = [...devices.sentAt].filter(([, at]) => at >= killedAt && at < restartedAt).map(([k]) => k);
    const victimSaw = perWorker[1]!;
    const downToVictim = downWindow.filter((k) => victimSaw.get(k.split('/')[0]!)!.has(Number(k.split('/')[1])));
    expect(downWindow.length).toBeGreaterThan(TOTAL / 10);
    expect(downToVictim.length).toBeGreaterThan(0);
    expect(downWindow.filter((k) => !stored.has(`${k.split('/')[0]}/1/${k.split('/')[1]}`))).toEqual([]);

    // Alerts need a device's whole stream: the instance outside the group saw all of it, in order, and
    // raised the low battery; the worker that received that one message had its alerts off.
    const whole = await waitFor('the alerting instance to account for every message', async () => {
      const totals = (await alerting!.api.get('/api/v1/ledger')).body.totals;
      return totals?.received === TOTAL ? totals : undefined;
    }, 45_000, 250);
    expect(whole).toMatchObject({ gaps: 0, missing: 0 });
    const lowBatteryAlerts = await Promise.all([alerting!, ...workers].map(async (w) => (await w.api.get('/api/v1/alerts?state=all&type=water-low-battery')).body.alerts.length as number));
    expect(lowBatteryAlerts).toEqual([1, 0, 0, 0]);

    const redeliveries = await Promise.all(workers.map(async (w) => (await w.api.get('/api/v1/ledger')).body.totals?.duplicates ?? 0));
    console.log(
      `[shared subscription] ${DEVICES} devices × ${PER_DEVICE} = ${TOTAL} messages; per worker ${shares.join(' / ')}; ` +
        `published while ${victim.name} was down (${restartedAt - killedAt} ms) ${downWindow.length}, of which queued for it ${downToVictim.length}; ` +
        `redeliveries counted per worker ${redeliveries.join(' / ')}; stored ${rows.length}, each (id, boot, seq) once`,
    );

    // A graceful stop (SIGTERM) leaves the group first: what is published afterwards goes to the two workers
    // still running instead of waiting in the stopped worker's session.
    const leaving = workers[2]!;
    leaving.child.kill('SIGTERM');
    await exited(leaving.child);
    await devices.close();
    const EXTRA = 50;
    later = await startDevices(url, secrets, 5, { from: PER_DEVICE, count: EXTRA });
    await later.done;
    await waitFor(`${TOTAL + DEVICES * EXTRA} readings in InfluxDB after a graceful stop`, async () => (await countStored()) >= TOTAL + DEVICES * EXTRA, 30_000, 250);
    expect(await countStored()).toBe(TOTAL + DEVICES * EXTRA);
    const remaining = await Promise.all(workers.slice(0, 2).map((w) => ledgerSeqs(w, ids)));
    for (const id of ids) {
      const extra = remaining.flatMap((m) => [...m.get(id)!].filter((seq) => seq >= PER_DEVICE));
      expect(extra.sort((a, b) => a - b)).toEqual(Array.from({ length: EXTRA }, (_, n) => PER_DEVICE + n));
    }
  });
});
