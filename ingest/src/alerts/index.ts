import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import type { DuckDbDatabase } from '../storage/duckdb/database.js';
import type { OperationsStore } from '../storage/types.js';
import { DuckDbAlertStore } from '../storage/duckdb/alert-store.js';
import { AlertEngine } from './engine.js';
import type { LastSeenSource } from './rules/device-status.js';
import type { AlertRulesConfig } from './rules-config.js';
import { WebhookNotifier } from '../notify/webhooks.js';

export interface Alerting {
  engine: AlertEngine;
  webhooks: WebhookNotifier;
  close(): Promise<void>;
}

export interface StartAlertingOptions {
  db: DuckDbDatabase;
  rules: Readonly<AlertRulesConfig>;
  devices: { getDevice(id: string): DeviceRecord | undefined; listDevices(): DeviceRecord[] };
  /** Last message per device; device status until the completeness ledger (issue 3) replaces it. */
  lastSeen: LastSeenSource;
  clock: () => number;
  /** Rule state stamped further ahead of `clock` than this is forgotten at start (rules/future-state.ts). */
  maxClockSkewMs?: number;
  logger?: Logger;
}

/** Device status as the silence rule's source of "last message received". */
export function lastSeenFromStatus(operations: Pick<OperationsStore, 'listStatus'>): LastSeenSource {
  return {
    list: async () => (await operations.listStatus()).map((s) => ({ deviceId: s.deviceId, type: s.type, lastSeen: s.lastSeen, sampleSec: s.sampleSec, online: s.online })),
  };
}

/** Opens the alert store, restores the engine, starts the evaluator clock and the webhooks. */
export async function startAlerting(o: StartAlertingOptions): Promise<Alerting> {
  const store = await DuckDbAlertStore.open(o.db);
  const engine = await AlertEngine.open({ config: o.rules, store, lastSeen: o.lastSeen, devices: o.devices, clock: o.clock, ...(o.maxClockSkewMs ? { maxClockSkewMs: o.maxClockSkewMs } : {}), ...(o.logger ? { logger: o.logger } : {}) });
  const webhooks = new WebhookNotifier(o.rules.notifications.webhooks, { store, ...(o.logger ? { logger: o.logger } : {}) });
  engine.subscribe((e) => webhooks.notify(e));
  engine.start();
  return {
    engine,
    webhooks,
    async close() {
      await engine.close();
      await webhooks.close();
    },
  };
}

export { AlertEngine } from './engine.js';
export { DEFAULT_ALERT_RULES, loadAlertRulesFile, parseAlertRules, RULE_IDS, type AlertRulesConfig, type RuleId, type WebhookConfig } from './rules-config.js';
export { minutesLeftAt, timeToDark, temperatureFactor, type PlantReading, type TimeToDark, type TimeToDarkParams } from './time-to-dark.js';
export { ringStatus, type RingStatus } from './ring.js';
export type { LastSeen, LastSeenSource } from './rules/device-status.js';
export type { Alert, AlertEvent, AlertGroup, Severity } from './types.js';
