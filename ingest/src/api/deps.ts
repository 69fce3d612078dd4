import type { DeviceRegistry } from '@tsunagaru/broker';
import type { OperationsStore, ReadingsReader } from '../storage/types.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  mqtt: { connected: boolean; url: string };
  store: { kind: string; path: string };
  counters: unknown;
}

/** Everything the API needs, passed in (no singletons): tests build it with real parts on temp dirs. */
export interface ApiDeps {
  registry: DeviceRegistry;
  operations: OperationsStore;
  readings: ReadingsReader;
  adminToken: string;
  health: () => HealthReport;
  clock?: () => number;
  /** Broker address devices should use, shown in the provisioning response. */
  mqttPublicUrl?: string;
}
