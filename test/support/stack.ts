import { randomBytes } from 'node:crypto';
import { createBroker, MemoryDeviceRegistry, type DeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import { startIngestService, type IngestService } from '@tsunagaru/ingest';
import type { Logger } from 'pino';
import { apiClient, type ApiClient } from './api-client.js';
import { captureLogger } from './log-capture.js';
import { makeTempDir } from './temp-dir.js';

export const ADMIN_TOKEN = 'integration-test-token-0123456789';

export interface Stack {
  registry: DeviceRegistry;
  broker?: TsunagaruBroker;
  ingest: IngestService;
  mqttUrl: string;
  api: ApiClient;
  logs: Array<Record<string, unknown>>;
  dataDir: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Use this broker URL instead of starting our aedes broker (e.g. a mosquitto under test). */
  externalMqttUrl?: string;
  ingestPassword?: string;
  registry?: DeviceRegistry;
  /** Use this DATA_DIR (kept at close) instead of a fresh temp dir, e.g. to share it with a CLI. */
  dataDir?: string;
}

/** Our broker (aedes, random port) + ingest on a temp DATA_DIR + API on a random port: all real parts. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { logger, lines } = captureLogger('info');
  const dir = options.dataDir ? { path: options.dataDir, remove: () => undefined } : makeTempDir('stack');
  const registry = options.registry ?? new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = options.ingestPassword ?? randomBytes(18).toString('base64url');
  let broker: TsunagaruBroker | undefined;
  let mqttUrl = options.externalMqttUrl;
  if (!mqttUrl) {
    await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
    broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }) as Logger });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    mqttUrl = `mqtt://127.0.0.1:${port}`;
  }
  const ingest = await startIngestService({
    config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: ADMIN_TOKEN },
    mqttPassword: ingestPassword,
    registry,
    logger: logger.child({ service: 'ingest' }) as Logger,
  });
  return {
    registry,
    ...(broker ? { broker } : {}),
    ingest,
    mqttUrl,
    api: apiClient(ingest.httpUrl, ADMIN_TOKEN),
    logs: lines,
    dataDir: dir.path,
    async close() {
      await ingest.close();
      await broker?.close();
      if (!options.registry) await registry.close();
      dir.remove();
    },
  };
}
