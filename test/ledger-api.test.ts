/**
 * The completeness ledger through the REST API, over real MQTT: gaps appear, a replay fills them,
 * redeliveries are counted, silent devices are listed, and it all survives an ingest restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { createBroker, MemoryDeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import { startIngestService, type IngestService } from '@tsunagaru/ingest';
import type { MqttClient } from 'mqtt';
import { apiClient, type ApiClient } from './support/api-client.js';
import { connectDevice, T0 } from './support/device-client.js';
import { captureLogger } from './support/log-capture.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const TOKEN = 'ledger-test-admin-token-0123456789';

describe('completeness ledger API', () => {
  const dir = makeTempDir('ledger');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const { logger } = captureLogger('warn');
  let broker: TsunagaruBroker;
  let mqttUrl: string;
  let ingest: IngestService;
  let api: ApiClient;
  let device: MqttClient;
  const topic = buildTopic('bs-power', 'bs-ledger-1', 'telemetry');
  const send = (seq: number, extra: object = {}) =>
    device.publishAsync(topic, JSON.stringify({ v: 1, id: 'bs-ledger-1', boot: 2, seq, ts: T0 + seq * 60_000, ...extra, samples: [{ ts: T0 + seq * 60_000, batterySocPct: 90 - seq }] }), { qos: 1 });
  const start = async () => {
    ingest = await startIngestService({
      config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: TOKEN },
      mqttPassword: 'ingest-password-0123456789',
      registry,
      logger,
    });
    api = apiClient(ingest.httpUrl, TOKEN);
  };

  beforeAll(async () => {
    await registry.upsertService('tsunagaru-ingest', 'ingest', 'ingest-password-0123456789');
    broker = await createBroker({ registry, logger });
    mqttUrl = `mqtt://127.0.0.1:${(await broker.listen({ port: 0 })).port}`;
    await start();
    const { secret } = await registry.provision({ id: 'bs-ledger-1', type: 'bs-power' });
    await registry.provision({ id: 'wm-silent-1', type: 'water-meter' });
    device = await connectDevice(mqttUrl, 'bs-ledger-1', secret);
  });
  afterAll(async () => {
    await device?.endAsync();
    await ingest?.close();
    await broker?.close();
    await registry.close();
    dir.remove();
  });

  const ledgerOf = async (id: string) => (await api.get(`/api/v1/ledger/${id}`)).body;

  it('shows the gap of lost messages, counts a redelivery, and forgets the gap once a replay fills it', async () => {
    for (const seq of [0, 1, 2, 5, 6]) await send(seq);
    await send(6); // redelivered
    const gapped = await waitFor('the ledger to see seq 6 twice', async () => ((await ledgerOf('bs-ledger-1')).boots?.[0]?.duplicates === 1 ? ledgerOf('bs-ledger-1') : undefined));
    expect(gapped).toMatchObject({ deviceId: 'bs-ledger-1', boots: [{ boot: 2, received: 5, highestSeq: 6, ranges: [[0, 2], [5, 6]], gaps: [[3, 4]], missing: 2, duplicates: 1 }] });
    expect(gapped.boots[0].lastMessageAt).toEqual(expect.any(Number));

    const summary = (await api.get('/api/v1/ledger')).body;
    expect(summary.devices).toEqual([
      { deviceId: 'bs-ledger-1', type: 'bs-power', boots: 1, received: 5, gaps: 1, missing: 2, duplicates: 1, lastMessageAt: expect.any(Number), latestBoot: 2 },
      { deviceId: 'wm-silent-1', type: 'water-meter', boots: 0, received: 0, gaps: 0, missing: 0, duplicates: 0, lastMessageAt: null, latestBoot: null },
    ]);
    expect((await api.get('/api/v1/ledger?gapsOnly=true')).body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['bs-ledger-1']);

    for (const seq of [3, 4]) await send(seq, { replay: true });
    const filled = await waitFor('the replay to fill the gap', async () => ((await ledgerOf('bs-ledger-1')).boots[0].gaps.length === 0 ? ledgerOf('bs-ledger-1') : undefined));
    expect(filled.boots[0]).toMatchObject({ received: 7, ranges: [[0, 6]], missing: 0, duplicates: 1 });
    expect((await api.get('/api/v1/ledger/nobody')).status).toBe(404);
  });

  it('survives an ingest restart', async () => {
    await ingest.close();
    await start();
    expect((await ledgerOf('bs-ledger-1')).boots[0]).toMatchObject({ received: 7, ranges: [[0, 6]], gaps: [], duplicates: 1 });
    await send(7);
    await waitFor('seq 7 after the restart', async () => (await ledgerOf('bs-ledger-1')).boots[0].highestSeq === 7);
  });
});
