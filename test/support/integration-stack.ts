import { randomBytes } from 'node:crypto';
import { createBroker, MemoryDeviceRegistry, type ProvisionInput, type TsunagaruBroker } from '@tsunagaru/broker';
import { loadIntegrationsConfig, startIngestService, type IngestService, type Outcome } from '@tsunagaru/ingest';
import type { Logger } from 'pino';
import { apiClient, type ApiClient } from './api-client.js';
import { captureLogger } from './log-capture.js';
import { makeTempDir } from './temp-dir.js';

export const INTEGRATION_ADMIN_TOKEN = 'integrations-test-admin-token-0001';

export interface IntegrationStack {
  registry: MemoryDeviceRegistry;
  broker: TsunagaruBroker;
  ingest: IngestService;
  api: ApiClient;
  /** Our broker's URL. */
  brokerUrl: string;
  logs: Array<Record<string, unknown>>;
  /** What the store decided for each message, in order (the pipeline's onOutcome): a test waits for a verdict, not a pause. */
  outcomes: Outcome[];
  close(): Promise<void>;
}

/**
 * Our broker and an ingest with integrations from `env` (CHIRPSTACK*, SPARKPLUG*, read as in production by
 * loadIntegrationsConfig), the devices of `devices` provisioned first: all real parts on a temp DATA_DIR.
 */
export async function startIntegrationStack(env: NodeJS.ProcessEnv, devices: readonly ProvisionInput[]): Promise<IntegrationStack> {
  const { logger, lines } = captureLogger('info');
  const dir = makeTempDir('integrations');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = randomBytes(18).toString('base64url');
  await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
  for (const d of devices) await registry.provision(d);
  const broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }) as Logger });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  const outcomes: Outcome[] = [];
  const ingest = await startIngestService({
    config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl: brokerUrl, mqttUsername: 'tsunagaru-ingest', adminToken: INTEGRATION_ADMIN_TOKEN, integrations: loadIntegrationsConfig(env) },
    mqttPassword: ingestPassword,
    registry,
    logger: logger.child({ service: 'ingest' }) as Logger,
    onOutcome: (o) => void outcomes.push(o),
  });
  return {
    registry,
    broker,
    ingest,
    api: apiClient(ingest.httpUrl, INTEGRATION_ADMIN_TOKEN),
    brokerUrl,
    logs: lines,
    outcomes,
    async close() {
      await ingest.close();
      await broker.close();
      await registry.close();
      dir.remove();
    },
  };
}

/** A device's ledger per boot, as the API gives it. */
export interface LedgerBoot {
  boot: number;
  received: number;
  missing: number;
  highestSeq: number | null;
}

export async function ledgerOf(api: ApiClient, id: string): Promise<LedgerBoot[]> {
  const r = await api.get<{ boots: LedgerBoot[] }>(`/api/v1/ledger/${id}`);
  return r.status === 200 ? r.body.boots : [];
}
