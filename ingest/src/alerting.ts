/**
 * The alerts, wired: the engine (alerts/) with its tables in the embedded store (storage/duckdb/), the
 * device status as its one source of "last seen", and the webhooks (notify/) it tells of every change.
 */
import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import { AlertEngine } from './alerts/engine.js';
import type { LastSeenSource } from './alerts/rules/device-status.js';
import type { AlertRulesConfig } from './alerts/rules-config.js';
import { WebhookNotifier } from './notify/webhooks.js';
import { DuckDbAlertStore } from './storage/duckdb/alert-store.js';
import type { DuckDbDatabase } from './storage/duckdb/database.js';
import type { WaterReader } from './water/registers.js';
import type { OperationsStore } from './storage/types.js';
import { WaterWatch } from './water/watch.js';

export interface Alerting {
  engine: AlertEngine;
  /** The water rules' reads of the store (night flows, monthly use), when they have a store to read. */
  water?: WaterWatch;
  webhooks: WebhookNotifier;
  close(): Promise<void>;
}

export interface StartAlertingOptions {
  db: DuckDbDatabase;
  rules: Readonly<AlertRulesConfig>;
  devices: { getDevice(id: string): DeviceRecord | undefined; listDevices(): DeviceRecord[] };
  /** When each device was last heard: its status (lastSeenFromStatus). */
  lastSeen: LastSeenSource;
  clock: () => number;
  /** Rule state stamped further ahead of `clock` than this is forgotten at start (rules/future-state.ts). */
  maxClockSkewMs?: number;
  logger?: Logger;
  /** Where the water rules read night flows and monthly use (the store's read pool); default: no such rules. */
  waterReads?: WaterReader;
}

/**
 * Device status, the one source of "last seen" (written by the store batch for every message, births and
 * deaths included), as the silence rule, the resilience view and the API read it.
 */
export function lastSeenFromStatus(operations: Pick<OperationsStore, 'listStatus' | 'listLastSeen' | 'onLastSeenChange'>): LastSeenSource {
  // The store's in-memory index when it keeps one (the embedded store's last-seen.ts), else the table.
  if (operations.listLastSeen) {
    return { list: () => operations.listLastSeen!(), ...(operations.onLastSeenChange ? { onChange: (l) => operations.onLastSeenChange!(l) } : {}) };
  }
  return {
    list: async () => (await operations.listStatus()).map((s) => ({ deviceId: s.deviceId, type: s.type, lastSeen: s.lastSeen, sampleSec: s.sampleSec, online: s.online })),
  };
}

/** Opens the alert store, restores the engine, starts the evaluator clock and the webhooks. */
export async function startAlerting(o: StartAlertingOptions): Promise<Alerting> {
  const store = await DuckDbAlertStore.open(o.db);
  const water = o.waterReads ? new WaterWatch({ db: o.waterReads, devices: o.devices, config: o.rules }) : undefined;
  const engine = await AlertEngine.open({ config: o.rules, store, lastSeen: o.lastSeen, devices: o.devices, clock: o.clock, ...(o.maxClockSkewMs ? { maxClockSkewMs: o.maxClockSkewMs } : {}), ...(o.logger ? { logger: o.logger } : {}), ...(water ? { water } : {}) });
  const webhooks = new WebhookNotifier(o.rules.notifications.webhooks, { store, ...(o.logger ? { logger: o.logger } : {}) });
  engine.subscribe((e) => webhooks.notify(e));
  engine.start();
  return {
    engine,
    ...(water ? { water } : {}),
    webhooks,
    async close() {
      await engine.close();
      await webhooks.close();
    },
  };
}
