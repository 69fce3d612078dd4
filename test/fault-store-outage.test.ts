/**
 * Fault: the time-series server (InfluxDB 1.6, v1 /write) is stopped for several seconds mid-stream and
 * started again. Devices keep getting PUBACKs meanwhile (the messages are safe in the journal); the
 * drainer retries with backoff and catches up. Afterwards InfluxDB must hold every reading exactly once
 * and the completeness ledger must show no gap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker, MemoryDeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import { loadStorageConfig, startIngestService, type IngestService } from '@tsunagaru/ingest';
import { captureLogger } from './support/log-capture.js';
import { indexLOf, startSteadyFleet, type SteadyFleet } from './support/steady-fleet.js';
import { makeTempDir } from './support/temp-dir.js';
import { INFLUX_ADMIN, INFLUXD_BIN, influxRows, serverAvailable, startInfluxDb16, type TsdbServer } from './support/tsdb.js';
import { waitFor } from './support/wait-for.js';

const DEVICES = 6;
const PER_DEVICE = 250;
const TOKEN = 'fault-test-admin-token-0123456789';

describe.runIf(serverAvailable(INFLUXD_BIN))('fault: storage server stopped mid-stream and restarted', () => {
  const dir = makeTempDir('fault-store');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  let influx: TsdbServer | undefined;
  let broker: TsunagaruBroker | undefined;
  let ingest: IngestService | undefined;
  let fleet: SteadyFleet | undefined;
  afterAll(async () => {
    await fleet?.close();
    await ingest?.close();
    await broker?.close();
    await influx?.dispose();
    await registry.close();
    dir.remove();
  });

  it('keeps acknowledging into the journal, catches up, and InfluxDB holds every reading once', { timeout: 90_000 }, async () => {
    influx = await startInfluxDb16('tsunagaru');
    const { logger, lines } = captureLogger('info');
    await registry.upsertService('tsunagaru-ingest', 'ingest', 'ingest-password-0123456789');
    broker = await createBroker({ registry, logger });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    const mqttUrl = `mqtt://127.0.0.1:${port}`;
    const storage = loadStorageConfig({ STORE: 'influx-v1', INFLUX_URL: influx.url, INFLUX_DB: 'tsunagaru', INFLUX_USER: INFLUX_ADMIN.user, INFLUX_PASSWORD: INFLUX_ADMIN.password, INGEST_BATCH_SIZE: '200' });
    ingest = await startIngestService({
      config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: TOKEN },
      mqttPassword: 'ingest-password-0123456789',
      registry,
      logger,
      storage,
    });
    const devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `wm-outage-${i}`;
      const { secret } = await registry.provision({ id, type: 'water-meter', attributes: { dma: 'nakano-3' } });
      devices.push({ id, secret });
    }
    const t0 = Date.now() - 3_600_000;
    fleet = await startSteadyFleet({ url: mqttUrl, devices, messagesPerDevice: PER_DEVICE, intervalMs: 30, t0 });
    const total = DEVICES * PER_DEVICE;

    await waitFor('a quarter acknowledged', () => fleet!.acked() >= total / 4, 30_000, 20);
    await influx.stop();
    const ackedAtStop = fleet.acked();
    await waitFor('the drainer to notice the outage', () => ingest!.durable.status().drain.failures > 0, 10_000, 20);
    await new Promise((r) => setTimeout(r, 4000));
    const ackedDuringOutage = fleet.acked() - ackedAtStop;
    const backlogAtRestart = ingest.durable.status().journal.backlog;
    await influx.start();
    await fleet.done;
    const ledger = ingest.durable.ledger;
    await waitFor('the drainer to catch up', () => ledger.summary().reduce((n, d) => n + d.received, 0) === total && ingest!.durable.status().journal.backlog === 0, 60_000);

    let points = 0;
    for (const d of devices) {
      const rows = await influxRows(influx.url, 'tsunagaru', `SELECT seq, indexL, boot FROM water_meter WHERE deviceId = '${d.id}' ORDER BY time`);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: PER_DEVICE }, (_, n) => n));
      expect(rows.every((r) => r.indexL === indexLOf(r.seq as number) && r.boot === 1 && r.time === t0 + (r.seq as number) * 1000)).toBe(true);
      points += rows.length;
      expect(ledger.device(d.id)).toMatchObject([{ boot: 1, received: PER_DEVICE, gaps: [], missing: 0 }]);
    }
    const retries = lines.filter((l) => l.event === 'store_retry').length;
    const summary = ledger.summary();
    expect(summary.reduce((n, d) => n + d.gaps, 0)).toBe(0);
    expect(ackedDuringOutage).toBeGreaterThan(0);
    console.log(
      `[fault: store outage] devices ${DEVICES} × ${PER_DEVICE} = ${total} messages; InfluxDB down ~5 s; ` +
        `acknowledged while it was down ${ackedDuringOutage} (journal backlog at restart ${backlogAtRestart}); store retries ${retries}; ` +
        `points in InfluxDB ${points} (each seq once); ledger gaps 0, duplicates ${summary.reduce((n, d) => n + d.duplicates, 0)}`,
    );
  });
});
