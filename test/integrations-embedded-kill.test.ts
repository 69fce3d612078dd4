/**
 * Fault, issue 20: integration traffic under `npm start` (our broker and the ingest in one process) follows
 * the rule device traffic follows: a PUBACK means "fsync'd in the ingest's journal". ChirpStack (an
 * integration principal made by POST /api/v1/integrations) publishes join and up events at QoS 1, built
 * from the documented fixtures; the process is killed with SIGKILL the moment ChirpStack receives a PUBACK
 * (twice), and started again. Every uplink ChirpStack was told was taken must be stored exactly once and
 * accounted by the ledger; nothing may become a dead letter (before, the broker's tap journalled the raw
 * ChirpStack topic, a dead letter per event, and aedes handed the event to the integration only after its
 * PUBACK, in memory).
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.js';
import { startChild, type ChildIngest } from './support/child-process.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const TOKEN = 'embedded-kill-test-admin-token-0001';
const APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
const METERS = 4;
const FRAMES = 60;
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../ingest/src/integrations/chirpstack/fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, any>;
const volumeLOf = (meter: number, fCnt: number) => 100_000 * (meter + 1) + fCnt * 13;
const iso = (ms: number) => new Date(ms).toISOString();

describe('fault: ChirpStack on our broker, the embedded ingest killed (SIGKILL) at a PUBACK', () => {
  const dir = makeTempDir('embedded-kill');
  let child: ChildIngest | undefined;
  let cs: mqtt.MqttClient | undefined;
  afterAll(async () => {
    await cs?.endAsync(true);
    await child?.stop();
    dir.remove();
  });

  it('stores every acknowledged uplink once after the restart, the ledger without a gap, no dead letter', { timeout: 120_000 }, async () => {
    const env = { DATA_DIR: dir.path, MQTT_PORT: String(await freePort()), HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: TOKEN, CHIRPSTACK: 'on' };
    child = await startChild('test/support/embedded-ingest-child.ts', env);
    let api = apiClient(child.ready.httpUrl!, TOKEN);
    const meters = Array.from({ length: METERS }, (_, i) => ({ id: `wm-lora-k${i}`, devEui: `70b3d5000000${String(i + 1).padStart(4, '0')}` }));
    for (const m of meters) expect((await api.post('/api/v1/devices', { id: m.id, type: 'water-meter', attributes: { devEui: m.devEui, dma: 'nakano-3' } })).status).toBe(201);
    const principal = await api.post<{ secret: string; mqtt: { username: string } }>('/api/v1/integrations', { type: 'chirpstack', applicationId: APP });
    expect(principal.status).toBe(201);

    // ChirpStack's MQTT integration: qos = 1, clean_session = false (docs/integrations.md); MQTT.js keeps
    // what is not acknowledged and sends it again after a reconnect, as ChirpStack's paho client does.
    cs = mqtt.connect(child.ready.mqttUrl!, { protocolVersion: 4, clientId: principal.body.mqtt.username, username: principal.body.mqtt.username, password: principal.body.secret, clean: false, reconnectPeriod: 250, connectTimeout: 5000, keepalive: 10 });
    cs.on('error', () => undefined);
    await new Promise<void>((resolve) => cs!.once('connect', () => resolve()));
    const t0 = Date.now() - 3_600_000;
    const join = fixture('join');
    const up = fixture('up');
    const deviceInfo = (i: number) => ({ ...up.deviceInfo, applicationId: APP, devEui: meters[i]!.devEui, deviceName: meters[i]!.id });
    const topic = (i: number, ev: string) => `application/${APP}/device/${meters[i]!.devEui}/event/${ev}`;

    let acked = 0;
    const kills: number[] = [];
    const killAt = [Math.floor((METERS * (FRAMES + 1)) / 4), Math.floor((METERS * (FRAMES + 1)) / 2)];
    let published = 0;
    const all: Array<Promise<void>> = [];
    const publish = (t: string, body: unknown) => {
      published++;
      all.push(
        new Promise<void>((resolve) =>
          cs!.publish(t, JSON.stringify(body), { qos: 1 }, (err) => {
            if (err) return; // only on close; MQTT.js keeps unacknowledged messages across reconnects
            acked++;
            // The moment ChirpStack hears "taken": kill the ingest before anything else can happen.
            if (kills.length < killAt.length && acked === killAt[kills.length] && child) {
              child.child.kill('SIGKILL');
              kills.push(acked);
            }
            resolve();
          }),
        ),
      );
    };
    for (let i = 0; i < METERS; i++) publish(topic(i, 'join'), { ...join, deduplicationId: `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`, time: iso(t0 - 1000), deviceInfo: deviceInfo(i) });
    for (let f = 0; f < FRAMES; f++) {
      for (let i = 0; i < METERS; i++) {
        const { fCnt: _f, ...rest } = up;
        publish(topic(i, 'up'), { ...rest, ...(f === 0 ? {} : { fCnt: f }), deduplicationId: `00000000-0000-4000-9${String(i).padStart(3, '0')}-${String(f).padStart(12, '0')}`, time: iso(t0 + f * 60_000), deviceInfo: deviceInfo(i), object: { volumeL: volumeLOf(i, f), flowLph: 20 + f, batteryPct: 90 } });
      }
      await new Promise((r) => setTimeout(r, 15));
    }

    for (let k = 0; k < killAt.length; k++) {
      await waitFor(`kill ${k + 1} at a PUBACK`, () => kills.length > k, 60_000, 20);
      await new Promise<void>((r) => (child!.child.exitCode !== null || child!.child.signalCode !== null ? r() : child!.child.once('exit', () => r())));
      child = await startChild('test/support/embedded-ingest-child.ts', env);
    }
    api = apiClient(child.ready.httpUrl!, TOKEN);
    await waitFor('every event acknowledged', () => acked === published, 60_000);
    const total = METERS * FRAMES;
    const ledger = await waitFor('the ledger to account for every uplink', async () => {
      const l = (await api.get<{ totals: { received: number; gaps: number; missing: number; duplicates: number } }>('/api/v1/ledger')).body;
      return l.totals.received === total ? l : undefined;
    }, 30_000);
    expect(ledger.totals).toMatchObject({ received: total, gaps: 0, missing: 0 });
    for (const [i, m] of meters.entries()) {
      const r = (await api.get<{ readings: Array<{ boot: number; seq: number; indexL: number }> }>(`/api/v1/devices/${m.id}/readings?from=${t0}&to=${t0 + FRAMES * 60_000}&limit=1000`)).body.readings;
      expect(r.map((x) => x.seq)).toEqual(Array.from({ length: FRAMES }, (_, n) => n));
      expect(r.every((x) => x.boot === 0 && x.indexL === volumeLOf(i, x.seq))).toBe(true);
      expect((await api.get(`/api/v1/ledger/${m.id}`)).body.boots).toMatchObject([{ boot: 0, received: FRAMES, gaps: [] }]);
    }
    const letters = (await api.get<{ deadLetters: Array<{ topic: string; reason: string }> }>('/api/v1/dead-letters?limit=50')).body.deadLetters;
    expect(letters).toEqual([]);

    // Commands on the same shape (gap 3): a downlink goes out on command/down through our broker (the tap lets
    // the ingest's own downlink pass at once), and ChirpStack's ack event (the documented fixture) settles it:
    // acknowledged → acked, a NACK (acknowledged left out, false) → failed with the reason.
    const downs: Array<{ id: string; devEui: string; confirmed: boolean; fPort: number; data: string }> = [];
    cs.on('message', (t, p) => {
      const down = JSON.parse(p.toString()) as (typeof downs)[number];
      downs.push(down);
      const { acknowledged: _a, ...ack } = fixture('ack');
      const i = meters.findIndex((m) => m.devEui === down.devEui);
      cs!.publish(topic(i, 'ack'), JSON.stringify({ ...ack, deviceInfo: deviceInfo(i), queueItemId: down.id, time: iso(Date.now()), ...(downs.length === 1 ? { acknowledged: true } : {}) }), { qos: 1 });
      expect(t).toBe(`application/${APP}/device/${down.devEui}/command/down`);
    });
    await cs.subscribeAsync(`application/${APP}/device/+/command/down`, { qos: 1 });
    const commandIs = (cmdId: string, status: string) =>
      waitFor(`command ${cmdId} ${status}`, async () => {
        const r = await api.get<{ status: string; result: unknown; error: string | null }>(`/api/v1/devices/${meters[0]!.id}/commands/${cmdId}`);
        return r.body.status === status ? r.body : undefined;
      });
    const first = await api.post<{ cmdId: string }>(`/api/v1/devices/${meters[0]!.id}/commands`, { name: 'set_sample_interval', args: { sec: 1800 } });
    expect(first.status).toBe(201);
    expect((await commandIs(first.body.cmdId, 'acked')).result).toEqual({ fCntDown: 3 });
    expect(downs[0]).toEqual({ id: first.body.cmdId.slice(4), devEui: meters[0]!.devEui, confirmed: true, fPort: 10, data: Buffer.from([1, 0, 0, 7, 8]).toString('base64') });
    const second = await api.post<{ cmdId: string }>(`/api/v1/devices/${meters[0]!.id}/commands`, { name: 'ping' });
    expect((await commandIs(second.body.cmdId, 'failed')).error).toMatch(/the meter did not confirm the downlink/);
    expect(downs).toHaveLength(2);

    console.log(`[fault: SIGKILL at a ChirpStack PUBACK] ${METERS} meters × ${FRAMES} uplinks + joins = ${published} events; killed at PUBACK #${kills.join(', #')}; ledger received ${ledger.totals.received}, gaps ${ledger.totals.gaps}, redeliveries counted ${ledger.totals.duplicates}`);
  });
});
