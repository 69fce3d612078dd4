/**
 * Public surface of @tsunagaru/ingest. Anything not exported here is internal.
 *
 * A message's way through the ingest, one folder per stop (README "The message's path"): intake/ →
 * journal/ → dispatch/ (validated once; accepted readings to alerts/ at once) → drain/ → storage/ and
 * ledger/; alerts/ → notify/ (SSE, webhooks); api/ serves what they keep.
 */

// Running it: `npm start` and `npm run ingest`, tests and scenario runs start the service in-process.
export { startIngestService, type IngestService, type IngestServiceDeps } from './service.js';
export { ingestConfigFrom, ingestEnv, loadIngestConfig, type ConfigDefaults, type IngestConfig, type IngestEnv } from './config.js';
export { loadStorageConfig, STORE_KINDS, type InfluxSettings, type StorageConfig, type StoreKind } from './storage/store-config.js';
export { createEmbeddedTap, type EmbeddedTap } from './intake/embedded-tap.js';
export { journalDirFor, type DurableIngest, type DurableStatus } from './durable-ingest.js';

// What becomes of each message: accepted (to the rules, at once), then one outcome from the store batch.
export type { Accepted, Outcome, OutcomeKind, PipelineCounters } from './dispatch/outcome.js';
export type { IngestPipeline, RawMessage } from './drain/pipeline.js';

// Storage: the writer interface every store implements, and the InfluxDB writers.
export type { StorableMessage, StorageWriter, WriteOutcome } from './storage/types.js';
export { formatField, InfluxV1Writer, InfluxV2Writer, messageLines, type InfluxV1Options, type InfluxV2Options } from './storage/influx/index.js';
// The embedded store itself, for its maintenance with the ingest stopped (`npm run store`: rollups,
// archive, retention) and the history bench.
export { openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from './storage/duckdb/index.js';
export { loadHistorySettings, type HistorySettings } from './storage/duckdb/history/history-config.js';
export type { Tier } from './storage/duckdb/history/archive.js';

// Alerts: the rules file (and its JSON Schema, for editors), and the battery physics the rules judge with.
export { alertRulesJsonSchema, DEFAULT_ALERT_RULES, loadAlertRulesFile, parseAlertRules, RULE_IDS, type AlertRulesConfig, type RuleId, type WebhookConfig } from './alerts/rules-config.js';
export { minutesLeftAt, temperatureFactor, timeToDark, type PlantReading, type TimeToDark, type TimeToDarkParams } from './alerts/time-to-dark.js';
export type { Alert, AlertEvent, AlertGroup, Severity } from './alerts/types.js';

// Operators' tools (`npm run tokens`, `npm run devices`): role tokens and the audit log in DATA_DIR; the
// CLIs take them from '@tsunagaru/ingest/operators', which starts without the rest.
export * from './operators.js';

export { IngestError, type IngestErrorCode } from './errors.js';

// Integrations (ChirpStack v4 LoRaWAN uplinks, Sparkplug B 3.0 edge nodes): their messages enter through the intake sink.
export { loadIntegrationsConfig, startIntegrations, DEV_EUI_ATTRIBUTE, SPARKPLUG_ATTRIBUTES, type Integrations, type IntegrationsConfig, type LoraDeviceView } from './integrations/index.js';

// The water bureau's figures: volumes from registers, DMA balances, night flow, usage, monthly reads.
export * as water from './water/index.js';
