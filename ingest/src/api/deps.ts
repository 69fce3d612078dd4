import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { AlertEngine } from '../alerts/engine.js';
import type { AuditLog } from './audit-log.js';
import type { ReadingsExporter } from '../storage/duckdb/readings-export.js';
import type { TokenStore } from './tokens.js';
import type { OperationsReader, ReadingsReader } from '../storage/types.js';
import type { ReadPoolStats } from '../storage/duckdb/read-pool.js';
import type { SqlReader } from '../storage/duckdb/database.js';
import type { ApiSettings } from './api-settings.js';
import type { CompletenessLedger } from '../ledger/ledger.js';
import type { CommandService } from '../commands/command-service.js';
import type { Integrations } from '../integrations/index.js';
import type { HistoryReader } from '../storage/duckdb/history/series.js';
import type { WaterReader } from '../water/registers.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  mqtt: { connected: boolean; url: string; heldAcks?: number; embedded?: boolean };
  store: { kind: string; path: string };
  counters: unknown;
  /** Journal, drainer and stores of the durable ingest path. */
  ingest?: unknown;
}

/** Everything the API needs, passed in (no singletons): tests build it with real parts on temp dirs. */
export interface ApiDeps {
  registry: DeviceRegistry;
  /** Reads only (the embedded store's `api.operations`: the read pool, apart from the drainer's connection). */
  operations: OperationsReader;
  readings: ReadingsReader;
  /** Aggregated readings (`interval`/`agg`, /api/v1/series); without it those forms are not served. */
  history?: HistoryReader;
  /** The bootstrap admin token (TSUNAGARU_ADMIN_TOKEN or generated). */
  adminToken: string;
  /** Role tokens (`npm run tokens`); default: only the bootstrap admin token is accepted. */
  tokens?: TokenStore;
  /** Where provisioning, commands and acknowledgements are audited; default in memory. */
  audit?: AuditLog;
  health: () => HealthReport;
  clock?: () => number;
  /** Broker address devices should use, shown in the provisioning response. */
  mqttPublicUrl?: string;
  /** The alert engine; without it the alert and resilience routes are not served. */
  alerts?: AlertEngine;
  /** The completeness ledger; without it the ledger routes are not served. */
  ledger?: CompletenessLedger;
  /** Cloud → device commands; without it the command routes are not served. */
  commands?: CommandService;
  /** ChirpStack and Sparkplug (issue 20): LoRaWAN meter state; the integration-principal routes are always served. */
  integrations?: Integrations;
  /** Readings exports (CSV, Parquet); without it the export routes are not served. */
  exports?: ReadingsExporter;
  /** Where the water figures are computed (the API's read pool, readings hot and archived); without it the water routes are not served. */
  water?: WaterReader;
  /** HTTP and export limits (api-settings.ts, from HTTP_* / API_* variables); default defaultApiSettings(). */
  settings?: ApiSettings;
  /** The store's reader connections, shown in the authenticated health detail. */
  storeReaders?: () => { pool: ReadPoolStats; open: number };
}
