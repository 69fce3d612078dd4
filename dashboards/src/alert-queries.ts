/**
 * Queries over the alert measurement (ingest schema ALERT_POINT): one point per alert change, so the
 * current state of an alert is the `last()` of its series (deviceId, rule, object).
 */
import { ALERT_WINDOW, WELFARE_RULE } from './conventions.js';
import { code, enumCodes, fld, from, M, tag } from './schema-names.js';
import { enumMappings, type ColumnStyle } from './panels.js';

const A = M.alert;
export const ACTIVE = code(A, 'state', 'active');
export const CRITICAL = code(A, 'severity', 'critical');

export const SEVERITY_MAPPINGS = enumMappings(enumCodes(A, 'severity'), { critical: 'red', major: 'orange', minor: 'yellow', warning: 'blue', indeterminate: 'text' });
/** Column styles of an activeAlerts() table. */
export const ALERT_COLUMNS: Record<string, ColumnStyle> = { severity: { mappings: SEVERITY_MAPPINGS, color: true } };

export interface AlertFilter {
  /** Extra InfluxQL conditions on the alert's tags, e.g. `"group" = 'field'`. */
  where?: string;
  /** Only this severity or worse (e.g. CRITICAL). */
  minSeverity?: number;
}

/**
 * Alerts active now, one row each (table format): device, rule, object, severity, message, value,
 * acknowledged. Welfare alerts are never shown in Grafana: its viewers are not checked for welfare access.
 */
export function activeAlerts(f: AlertFilter = {}): string {
  const cond = [`time > now() - ${ALERT_WINDOW}`, `${tag(A, 'rule')} != '${WELFARE_RULE}'`, ...(f.where ? [f.where] : [])].join(' AND ');
  const last = ['state', 'severity', 'message', 'value', 'acknowledged'].map((n) => `last(${fld(A, n)}) AS ${fld(A, n)}`).join(', ');
  const inner = `SELECT ${last} FROM ${from(A)} WHERE ${cond} GROUP BY ${tag(A, 'deviceId')}, ${tag(A, 'rule')}, ${tag(A, 'object')}`;
  const outer = [`${fld(A, 'state')} = ${ACTIVE}`, ...(f.minSeverity !== undefined ? [`${fld(A, 'severity')} >= ${f.minSeverity}`] : [])].join(' AND ');
  return `SELECT ${tag(A, 'deviceId')}, ${tag(A, 'rule')}, ${tag(A, 'object')}, ${fld(A, 'severity')}, ${fld(A, 'message')}, ${fld(A, 'value')}, ${fld(A, 'acknowledged')} FROM (${inner}) WHERE ${outer}`;
}

/** How many alerts are active now (a single number, for stat panels). */
export function activeAlertCount(f: AlertFilter = {}): string {
  return `SELECT count(${fld(A, 'severity')}) AS "alerts" FROM (${activeAlerts(f)})`;
}
