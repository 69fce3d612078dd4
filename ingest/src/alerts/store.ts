import type { Alert, AlertEvent, AlertGroup, AlertState, Severity } from './types.js';

export interface AlertQuery {
  state: AlertState | 'all';
  severity?: Severity;
  /** Rule id (the X.733 alarm type). */
  rule?: string;
  group?: AlertGroup;
  deviceId?: string;
  limit: number;
  /** Only alerts raised before this (epoch ms), for paging. */
  raisedBefore?: number;
}

export interface WebhookDeadLetter {
  id: number;
  webhook: string;
  event: AlertEvent;
  attempts: number;
  lastError: string;
  failedAt: number;
}

/**
 * Where alerts and the rules' own state survive a restart. Every alert change is saved before it is
 * published, so what consoles are told is what a restarted ingest knows.
 */
export interface AlertStore {
  loadOpen(): Promise<Alert[]>;
  /** Inserts or replaces, in one transaction. */
  save(alerts: readonly Alert[]): Promise<void>;
  get(id: string): Promise<Alert | undefined>;
  list(q: AlertQuery): Promise<Alert[]>;
  /** Rule state (water history, ring segment states…) by scope, e.g. `water:wm-1`. */
  loadRuleState(): Promise<Map<string, unknown>>;
  saveRuleState(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  addWebhookDeadLetter(dl: Omit<WebhookDeadLetter, 'id'>): Promise<void>;
  listWebhookDeadLetters(limit: number): Promise<WebhookDeadLetter[]>;
}
