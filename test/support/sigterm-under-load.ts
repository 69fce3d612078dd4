/**
 * The single node (broker + ingest in one process, SIMULATORS=off) stopped with SIGTERM while devices
 * publish at QoS 1, then started again on the same DATA_DIR: it must stop cleanly (exit 0, "stopped
 * cleanly", within the grace a container or systemd gives), leave no process behind, and once restarted
 * hold every acknowledged message exactly once, those acknowledged before the stop included (the devices
 * resend what was not acknowledged).
 */
import { expect } from 'vitest';
import { apiClient } from './api-client.js';
import { freePort } from './ports.js';
import { processesWithEnv, type Running } from './processes.js';
import { indexLOf, startSteadyFleet } from './steady-fleet.js';
import { waitFor } from './wait-for.js';

const TOKEN = 'sigterm-test-admin-token-0123456789';
const DEVICES = 6;
const PER_DEVICE = 200;
/** What docker (10 s by default) and our systemd unit (30 s) give before SIGKILL. */
const GRACE_MS = 10_000;

export interface SigtermReport {
  ackedAtSignal: number;
  stopMs: number;
  total: number;
  /** Acknowledged in the end (all of them but what the client itself lost). */
  acked: number;
  stored: number;
}

/**
 * `launch(env)` starts the single node; `target(running)` is what receives the SIGTERM (npm's own
 * process for `npm start`, node for a compiled entry).
 */
export async function sigtermUnderLoad(dataDir: string, launch: (env: NodeJS.ProcessEnv) => Running, onStarted: (r: Running) => void): Promise<SigtermReport> {
  const env = { DATA_DIR: dataDir, MQTT_PORT: String(await freePort()), MQTTS_PORT: 'off', HTTP_PORT: '0', SIMULATORS: 'off', TSUNAGARU_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'info' };
  const up = async () => {
    const running = launch(env);
    onStarted(running);
    await waitFor('the start banner', () => (running.child.exitCode !== null ? Promise.reject(new Error(running.output())) : /REST API\s+http/.test(running.output())), 60_000);
    return { running, api: apiClient(/REST API\s+(http:\/\/\S+)\/api\/v1/.exec(running.output())![1]!, TOKEN), mqttUrl: /MQTT broker\s+(mqtt:\/\/\S+)/.exec(running.output())![1]! };
  };
  const stop = async (running: Running) => {
    running.signal('SIGTERM');
    const { code, signal } = await running.exited;
    // npm exits 0 once its child has; a node entry exits 0 after its clean shutdown.
    expect({ code, signal, output: running.output().slice(-2000) }).toMatchObject({ code: 0, signal: null });
    expect(running.output()).toContain('SIGTERM: stopping simulators, ingest and broker');
    expect(running.output()).toContain('stopped cleanly');
    expect(running.stopMs()).toBeLessThan(GRACE_MS);
    // Nothing of it left, whatever its parent now: every process that has this DATA_DIR is gone.
    await waitFor('no process left with this DATA_DIR', () => processesWithEnv('DATA_DIR', dataDir).length === 0, 3000);
    return running.stopMs()!;
  };

  const first = await up();
  // The node is the process (or npm's one child) holding this DATA_DIR: what must not outlive the stop.
  expect(processesWithEnv('DATA_DIR', dataDir).length).toBeGreaterThanOrEqual(1);
  const devices: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = `wm-term-${i}`;
    const res = await first.api.post('/api/v1/devices', { id, type: 'water-meter', attributes: { dma: 'shinjuku-1' } });
    expect(res.status).toBe(201);
    devices.push({ id, secret: res.body.secret as string });
  }
  const t0 = Date.now() - 3_600_000;
  const acked = new Map(devices.map((d) => [d.id, new Set<number>()]));
  const fleet = await startSteadyFleet({ url: first.mqttUrl, devices, messagesPerDevice: PER_DEVICE, intervalMs: 40, t0, onAck: (id, seq) => acked.get(id)!.add(seq) });
  const total = DEVICES * PER_DEVICE;
  try {
    await waitFor('a third of the messages acknowledged', () => fleet.acked() >= total / 3, 30_000, 20);
    const ackedAtSignal = fleet.acked();
    const stopMs = await stop(first.running);

    const second = await up();
    expect(second.mqttUrl).toBe(first.mqttUrl);
    // The devices resend what was not acknowledged; wait for every PUBACK, or for them to stop coming.
    let lastAcked = -1;
    let quietSince = Date.now();
    await waitFor('the devices to finish', () => {
      if (fleet.acked() !== lastAcked) [lastAcked, quietSince] = [fleet.acked(), Date.now()];
      return fleet.acked() >= total || (fleet.published() >= total && Date.now() - quietSince > 10_000);
    }, 90_000, 250);
    const ackedCount = fleet.acked();
    // MQTT.js 5.16 can lose a publish it queued while replaying its store after a reconnect, when the
    // connection drops again meanwhile (3-4 of 1200 in some runs here): never sent, never acknowledged,
    // never stored. The client's loss, bounded here (and the restart must have let the devices go on);
    // the broker's promise, checked below, is about acknowledged messages.
    expect(ackedCount, 'acknowledged in the end').toBeGreaterThanOrEqual(total * 0.98);
    // A PUBACK means journaled (fsync'd); the store gets it from the journal moments later.
    const storedNow = async () => {
      const out = new Map<string, Array<{ seq: number; indexL: number }>>();
      for (const d of devices) out.set(d.id, (await second.api.get(`/api/v1/devices/${d.id}/readings?from=${t0}&to=${t0 + PER_DEVICE * 1000}&limit=10000`)).body.readings);
      return out;
    };
    const missing = (m: Map<string, Array<{ seq: number }>>) => devices.flatMap((d) => [...acked.get(d.id)!].filter((n) => !(m.get(d.id) ?? []).some((r) => r.seq === n)).map((n) => `${d.id}#${n}`));
    let last: Map<string, Array<{ seq: number; indexL: number }>> = new Map();
    await waitFor('every acknowledged message in the store', async () => missing((last = await storedNow())).length === 0, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: acknowledged but not stored ${missing(last).slice(0, 20).join(', ')}`);
    });
    let stored = 0;
    for (const d of devices) {
      const r = last.get(d.id)!;
      const seqs = r.map((x) => x.seq);
      expect(new Set(seqs).size, `${d.id}: each message stored once`).toBe(seqs.length);
      expect(r.every((x) => x.indexL === indexLOf(x.seq))).toBe(true);
      stored += seqs.length;
    }
    const ledger = (await second.api.get('/api/v1/ledger')).body;
    expect(ledger.totals.received).toBe(stored);
    if (ackedCount === total) expect(ledger.totals).toMatchObject({ received: total, gaps: 0, missing: 0 });
    await fleet.close();
    await stop(second.running);
    return { ackedAtSignal, stopMs, total, acked: ackedCount, stored };
  } catch (err) {
    await fleet.close();
    throw err;
  }
}
