/**
 * Fault: the ingest process is killed with SIGKILL mid-stream and started again. Broker and ingest run in
 * one child process, wired as `npm start` wires them (a device's PUBACK waits for the journal's fsync);
 * the devices are real MQTT clients in this process that reconnect and resend what was not acknowledged.
 * Afterwards every message must be stored exactly once and the completeness ledger must show no gap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.js';
import { startChild, type ChildIngest } from './support/child-process.js';
import { freePort } from './support/ports.js';
import { indexLOf, startSteadyFleet, type SteadyFleet } from './support/steady-fleet.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const TOKEN = 'fault-test-admin-token-0123456789';
const DEVICES = 8;
const PER_DEVICE = 240;

describe('fault: ingest killed (SIGKILL) mid-stream and restarted', () => {
  const dir = makeTempDir('fault-kill');
  let child: ChildIngest | undefined;
  let fleet: SteadyFleet | undefined;
  afterAll(async () => {
    await fleet?.close();
    await child?.stop();
    dir.remove();
  });

  it('loses nothing, stores each message once, and the ledger has no gap', { timeout: 90_000 }, async () => {
    const env = { DATA_DIR: dir.path, MQTT_PORT: String(await freePort()), HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: TOKEN };
    child = await startChild('test/support/embedded-ingest-child.ts', env);
    let api = apiClient(child.ready.httpUrl!, TOKEN);
    const devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `wm-kill-${i}`;
      const res = await api.post('/api/v1/devices', { id, type: 'water-meter', attributes: { dma: 'shinjuku-1' } });
      expect(res.status).toBe(201);
      devices.push({ id, secret: res.body.secret as string });
    }
    const t0 = Date.now() - 3_600_000;
    fleet = await startSteadyFleet({ url: child.ready.mqttUrl!, devices, messagesPerDevice: PER_DEVICE, intervalMs: 40, t0 });
    const total = DEVICES * PER_DEVICE;

    await waitFor('a third of the messages acknowledged', () => fleet!.acked() >= total / 3, 30_000, 20);
    const ackedAtKill = fleet.acked();
    await child.kill();
    await new Promise((r) => setTimeout(r, 1000));
    child = await startChild('test/support/embedded-ingest-child.ts', env);
    const replayed = Number(/"messages":(\d+),"fromLsn"/.exec(child.output())?.[1] ?? 0);
    api = apiClient(child.ready.httpUrl!, TOKEN);
    await fleet.done;

    const ledger = await waitFor('the ledger to account for every message', async () => {
      const l = (await api.get('/api/v1/ledger')).body;
      return l.totals.received === total ? l : undefined;
    }, 30_000);
    expect(ledger.totals).toMatchObject({ received: total, gaps: 0, missing: 0 });
    let rows = 0;
    for (const d of devices) {
      const r = (await api.get(`/api/v1/devices/${d.id}/readings?from=${t0}&to=${t0 + PER_DEVICE * 1000}&limit=10000`)).body.readings as Array<{ seq: number; indexL: number }>;
      expect(r.map((x) => x.seq)).toEqual(Array.from({ length: PER_DEVICE }, (_, n) => n));
      expect(r.every((x) => x.indexL === indexLOf(x.seq))).toBe(true);
      rows += r.length;
      expect((await api.get(`/api/v1/ledger/${d.id}`)).body.boots).toMatchObject([{ boot: 1, received: PER_DEVICE, ranges: [[0, PER_DEVICE - 1]], gaps: [] }]);
    }
    console.log(
      `[fault: SIGKILL] devices ${DEVICES} × ${PER_DEVICE} = ${total} messages; acknowledged before the kill ${ackedAtKill}; ` +
        `replayed from the journal after restart ${replayed}; device reconnects ${fleet.reconnects()}; ` +
        `stored rows ${rows} (each seq once); ledger gaps ${ledger.totals.gaps}, missing ${ledger.totals.missing}, redeliveries counted ${ledger.totals.duplicates}`,
    );
  });
});
