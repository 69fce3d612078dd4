import { randomBytes } from 'node:crypto';
import { createBroker, MemoryDeviceRegistry, type DeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import { startIngestService, type AlertRulesConfig, type IngestService } from '@tsunagaru/ingest';
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
  /** Stops the ingest and starts it again on the same DATA_DIR and broker (restart tests). */
  restartIngest(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Use this broker URL instead of starting our aedes broker (e.g. a mosquitto under test). */
  externalMqttUrl?: string;
  ingestPassword?: string;
  registry?: DeviceRegistry;
  /** Use this DATA_DIR (kept at close) instead of a fresh temp dir, e.g. to share it with a CLI. */
  dataDir?: string;
  /** The ingest's clock (fake time for time-based alert rules). */
  clock?: () => number;
  alertRules?: Readonly<AlertRulesConfig>;
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
  const startIngest = (url: string) =>
    startIngestService({
      config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl: url, mqttUsername: 'tsunagaru-ingest', adminToken: ADMIN_TOKEN },
      mqttPassword: ingestPassword,
      registry,
      logger: logger.child({ service: 'ingest' }) as Logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.alertRules ? { alertRules: options.alertRules } : {}),
    });
  const ingest = await startIngest(mqttUrl);
  const brokerUrl = mqttUrl;
  return {
    async restartIngest(this: Stack) {
      await this.ingest.close();
      this.ingest = await startIngest(brokerUrl);
      this.api = apiClient(this.ingest.httpUrl, ADMIN_TOKEN);
    },
    registry,
    ...(broker ? { broker } : {}),
    ingest,
    mqttUrl,
    api: apiClient(ingest.httpUrl, ADMIN_TOKEN),
    logs: lines,
    dataDir: dir.path,
    async close(this: Stack) {
      await this.ingest.close();
      await broker?.close();
      if (!options.registry) await registry.close();
      dir.remove();
    },
  };
}
