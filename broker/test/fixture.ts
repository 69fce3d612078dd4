/** A broker on 127.0.0.1:<free port> over a memory registry with two devices and the ingest account. */
import { createBroker, type BrokerOptions, type TsunagaruBroker } from '../src/broker.js';
import { MemoryDeviceRegistry } from '../src/registry/memory-registry.js';
import { captureLogger, endAll, type LogLine } from './helpers.js';

export const INGEST = { username: 'ingest', password: 'ingest-test-secret-0001' };
export const POLE_TELEMETRY = 'tsunagaru/v1/smart-pole/pole-01/telemetry';
export const METER_TELEMETRY = 'tsunagaru/v1/water-meter/wm-01/telemetry';

export interface TestBroker {
  broker: TsunagaruBroker;
  registry: MemoryDeviceRegistry;
  port: number;
  lines: LogLine[];
  raw: string[];
  pole: { username: string; password: string; clientId: string };
  meter: { username: string; password: string; clientId: string };
  stop(): Promise<void>;
}

export async function startTestBroker(options: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const pole = await registry.provision({ id: 'pole-01', type: 'smart-pole' });
  const meter = await registry.provision({ id: 'wm-01', type: 'water-meter' });
  await registry.upsertService(INGEST.username, 'ingest', INGEST.password);
  const { logger, lines, raw } = captureLogger();
  const broker = await createBroker({ registry, logger, ...options });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  return {
    broker,
    registry,
    port,
    lines,
    raw,
    pole: { username: 'pole-01', password: pole.secret, clientId: 'pole-01' },
    meter: { username: 'wm-01', password: meter.secret, clientId: 'wm-01' },
    async stop() {
      await endAll();
      await broker.close();
      await registry.close();
    },
  };
}
