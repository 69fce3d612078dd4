import type { DeviceType } from '@tsunagaru/firmware-contracts';

/** ITU-T X.733 perceived severities; `cleared` is what a clear notification carries. */
export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'indeterminate'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type PerceivedSeverity = Severity | 'cleared';

/** Rank for comparisons: higher is worse. */
export const SEVERITY_RANK: Record<Severity, number> = { indeterminate: 0, warning: 1, minor: 2, major: 3, critical: 4 };

export function worse(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/**
 * Who acts on an alert (domain notes: three user groups); routing of notifications and the flood summary
 * are per group, a group standing for one operator's console.
 */
export const ALERT_GROUPS = ['field', 'water', 'disaster'] as const;
export type AlertGroup = (typeof ALERT_GROUPS)[number];

/**
 * What an alert is about, X.733 style: the managed object (a device, or a virtual one such as the ring
 * `izu-ring` or a district `dma:nakano-3`), the alarm type (`rule`), and a sub-object (a segment, an island,
 * a meter alarm flag) when one device can have several alarms of one type.
 */
export interface AlertKey {
  deviceId: string;
  rule: string;
  object: string | null;
}

export function keyString(k: AlertKey): string {
  return `${k.deviceId}|${k.rule}|${k.object ?? ''}`;
}

/** What a rule reports for one key at one evaluation: the condition is present (active) or not. */
export interface Condition extends AlertKey {
  active: boolean;
  /** Severity while active; ignored when inactive. */
  severity: Severity;
  /** Human text for the operator, e.g. "time to dark 52 min (VRLA, load 41 A, SoC 31 %)". */
  message: string;
  deviceType: DeviceType | null;
  /** The measured value that triggered it, when there is one (minutes, °C, L/h…). */
  value?: number | null;
  detail?: Record<string, unknown>;
  /**
   * When the device observed what this condition rests on (the reading's or event's own `ts`, epoch ms),
   * as opposed to when the ingest judged it. Absent for conditions the clock alone decides.
   */
  observedAt?: number;
}

export interface AlertComment {
  at: number;
  by: string;
  text: string;
}

export interface Shelving {
  mode: 'one-shot' | 'timed';
  /** Timed shelving ends here (epoch ms); one-shot ends when the alert clears. */
  until: number | null;
  at: number;
  by: string;
}

export type AlertState = 'active' | 'cleared';

export interface Alert extends AlertKey {
  id: string;
  deviceType: DeviceType | null;
  group: AlertGroup;
  severity: Severity;
  state: AlertState;
  message: string;
  value: number | null;
  detail: Record<string, unknown>;
  /** When the ingest raised it (its clock). */
  raisedAt: number;
  /**
   * When the device observed the reading or event that raised (or last escalated) it: data buffered for
   * hours is raised now, but observed then. null when the clock alone decided (silence).
   */
  observedAt: number | null;
  updatedAt: number;
  clearedAt: number | null;
  acknowledged: boolean;
  ackedAt: number | null;
  ackedBy: string | null;
  comments: AlertComment[];
  shelved: Shelving | null;
  /** ISA-18.2: 3+ raise/clear within a minute. The alert is kept as one, and clears only once quiet. */
  chattering: boolean;
  /** Raise/clear transitions of the condition folded into this alert. */
  transitions: number;
  /** Raised while its group was flooded: counted in the flood summary instead of notified on its own. */
  flooded: boolean;
  /**
   * A symptom: the id of the root-cause alert it follows from (an isolated island, a cut segment, a district
   * power cut). Not announced on its own while that cause is active; shown grouped under it.
   */
  causeId: string | null;
  /** A root cause: how many open alerts are its symptoms. */
  symptoms: number;
  /** Consoles and webhooks heard of it (its raise, or later on its own): so they also hear of its clear. */
  announced: boolean;
}

export const ALERT_EVENT_KINDS = ['raised', 'updated', 'escalated', 'cleared', 'acknowledged', 'commented', 'shelved', 'unshelved'] as const;
export type AlertEventKind = (typeof ALERT_EVENT_KINDS)[number];

/** One change of one alert, as sent over SSE and webhooks. */
export interface AlertEvent {
  kind: AlertEventKind;
  at: number;
  alert: Alert;
}

/** What the store said of a birth or a death (the store batch's `state` outcome), for the state rules. */
export interface StateVerdict {
  online: boolean;
  /** A late will or a stale birth: recorded, the device's status unchanged. */
  stale: boolean;
}
