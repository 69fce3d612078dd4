/**
 * Fault: the broker (Debian's mosquitto, persistence on) is restarted mid-stream. The ingest is a
 * separate MQTT client (persistent session; PUBACKs held until the journal's fsync) and writes to
 * VictoriaMetrics through the v2 API. Devices and ingest reconnect; mosquitto restores the ingest's queued
 * messages from its persistence file; devices resend what was not acknowledged. Afterwards
 * VictoriaMetrics must hold every reading exactly once and the completeness ledger must show no gap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret, MemoryDeviceRegistry, type MosquittoCredential } from '@tsunagaru/broker';
import { loadStorageConfig, startIngestService, type IngestService } from '@tsunagaru/ingest';
import { captureLogger } from './support/log-capture.js';
import { mosquittoAvailable } from './support/mosquitto.js';
import { startRestartableMosquitto, type RestartableMosquitto } from './support/mosquitto-restartable.js';
import { indexLOf, startSteadyFleet, type SteadyFleet } from './support/steady-fleet.js';
import { makeTempDir } from './support/temp-dir.js';
import { serverAvailable, startVictoriaMetrics, VICTORIA_BIN, victoriaExport, type TsdbServer } from './support/tsdb.js';
import { waitFor } from './support/wait-for.js';

const DEVICES = 6;
const PER_DEVICE = 250;
const TOKEN = 'fault-test-admin-token-0123456789';

describe.runIf(mosquittoAvailable() && serverAvailable(VICTORIA_BIN))('fault: broker restarted mid-stream', () => {
  const dir = makeTempDir('fault-broker');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  let vm: TsdbServer | undefined;
  let mosquitto: RestartableMosquitto | undefined;
  let ingest: IngestService | undefined;
  let fleet: SteadyFleet | undefined;
  afterAll(async () => {
    await fleet?.close();
    await ingest?.close();
    await mosquitto?.dispose();
    await vm?.dispose();
    await registry.close();
    dir.remove();
  });

  it('loses nothing across the restart; VictoriaMetrics holds every reading once', { timeout: 90_000 }, async () => {
    vm = await startVictoriaMetrics();
    const devices = [];
    const credentials: MosquittoCredential[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `wm-restart-${i}`;
      const { secret } = await registry.provision({ id, type: 'water-meter', attributes: { dma: 'toyosu-1' }, secret: generateSecret() });
      devices.push({ id, secret });
      credentials.push({ username: id, password: secret, role: 'device', type: 'water-meter' });
    }
    const ingestPassword = generateSecret();
    credentials.push({ username: 'tsunagaru-ingest', password: ingestPassword, role: 'ingest' });
    mosquitto = await startRestartableMosquitto(credentials);
    const { logger, lines } = captureLogger('info');
    const storage = loadStorageConfig({ STORE: 'influx-v2', INFLUX_URL: vm.url, INFLUX_ORG: 'tsunagaru', INFLUX_BUCKET: 'tsunagaru', INFLUX_STRING_FIELDS: 'false' });
    ingest = await startIngestService({
      config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl: mosquitto.url, mqttUsername: 'tsunagaru-ingest', adminToken: TOKEN },
      mqttPassword: ingestPassword,
      registry,
      logger,
      storage,
    });
    const t0 = Date.now() - 3_600_000;
    fleet = await startSteadyFleet({ url: mosquitto.url, devices, messagesPerDevice: PER_DEVICE, intervalMs: 30, t0 });
    const total = DEVICES * PER_DEVICE;

    await waitFor('a third acknowledged', () => fleet!.acked() >= total / 3, 30_000, 20);
    const ackedAtStop = fleet.acked();
    await mosquitto.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await mosquitto.start();
    await fleet.done;
    const ledger = ingest.durable.ledger;
    await waitFor('every message in the ledger', () => ledger.summary().reduce((n, d) => n + d.received, 0) === total && ingest!.durable.status().journal.backlog === 0, 60_000);

    let samples = 0;
    for (const d of devices) {
      const series = await victoriaExport(vm.url, `{__name__=~"water_meter_(seq|indexL)",deviceId="${d.id}"}`);
      const seqs = series.find((s) => s.metric.__name__ === 'water_meter_seq')!;
      const index = series.find((s) => s.metric.__name__ === 'water_meter_indexL')!;
      expect([...seqs.values].sort((a, b) => a - b)).toEqual(Array.from({ length: PER_DEVICE }, (_, n) => n));
      expect(new Set(seqs.timestamps).size).toBe(PER_DEVICE);
      const byTs = new Map(index.timestamps.map((ts, i) => [ts, index.values[i]]));
      expect(seqs.timestamps.every((ts, i) => ts === t0 + seqs.values[i]! * 1000 && byTs.get(ts) === indexLOf(seqs.values[i]!))).toBe(true);
      samples += seqs.values.length;
      expect(ledger.device(d.id)).toMatchObject([{ boot: 1, received: PER_DEVICE, gaps: [], missing: 0 }]);
    }
    const summary = ledger.summary();
    const ingestReconnects = lines.filter((l) => l.event === 'mqtt_reconnect').length;
    console.log(
      `[fault: broker restart] devices ${DEVICES} × ${PER_DEVICE} = ${total} messages; mosquitto down ~1.5 s after ${ackedAtStop} acknowledged; ` +
        `device reconnect attempts ${fleet.reconnects()}, ingest reconnect attempts ${ingestReconnects}; samples in VictoriaMetrics ${samples} (each seq once); ` +
        `ledger gaps ${summary.reduce((n, d) => n + d.gaps, 0)}, redeliveries counted ${summary.reduce((n, d) => n + d.duplicates, 0)}`,
    );
  });
});
