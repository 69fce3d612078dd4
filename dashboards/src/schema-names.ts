/**
 * Names and codes from the ingest's InfluxDB schema (firmware-contracts/src/influx-schema.ts), looked up when
 * the dashboards are generated: a name the schema does not have stops generation, and enum codes and
 * alarm bits come from the schema, never typed in by hand.
 */
import { ALERT_POINT, EVENT_MEASUREMENT, TELEMETRY_MEASUREMENTS, type MeasurementSpec } from '@tsunagaru/firmware-contracts';
import { q } from './influxql.js';
import { DashboardError } from './errors.js';

/** The measurements the dashboards read, by what they are in the field. */
export const M = {
  pole: TELEMETRY_MEASUREMENTS['smart-pole'],
  meter: TELEMETRY_MEASUREMENTS['water-meter'],
  power: TELEMETRY_MEASUREMENTS['bs-power'],
  ring: TELEMETRY_MEASUREMENTS['ring-node'],
  event: EVENT_MEASUREMENT,
  alert: ALERT_POINT,
} as const satisfies Record<string, MeasurementSpec>;

/** Every measurement a query may name. */
export const QUERYABLE_MEASUREMENTS: readonly MeasurementSpec[] = [...Object.values(TELEMETRY_MEASUREMENTS), EVENT_MEASUREMENT, ALERT_POINT];

/** The quoted measurement name. */
export const from = (spec: MeasurementSpec): string => q(spec.measurement);

/** The quoted field name; throws when the measurement has no such field. */
export function fld(spec: MeasurementSpec, name: string): string {
  if (!spec.fields.some((f) => f.name === name)) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: measurement ${spec.measurement} has no field "${name}" (ingest InfluxDB schema)`);
  return q(name);
}

/** The quoted tag key; throws when the measurement has no such tag. */
export function tag(spec: MeasurementSpec, name: string): string {
  if (!spec.tags.includes(name)) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: measurement ${spec.measurement} has no tag "${name}" (ingest InfluxDB schema)`);
  return q(name);
}

/** The integer code an enum field stores for `value` (e.g. backhaul "satellite"). */
export function code(spec: MeasurementSpec, field: string, value: string): number {
  const c = spec.fields.find((f) => f.name === field && f.kind === 'enum')?.codes?.[value];
  if (c === undefined) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: ${spec.measurement}.${field} has no enum value "${value}"`);
  return c;
}

/** The bitmask of one flag of a flags field (e.g. water_meter.alarms "leak" → 1). */
export function bit(spec: MeasurementSpec, field: string, flag: string): number {
  const b = spec.fields.find((f) => f.name === field && f.kind === 'flags')?.codes?.[flag];
  if (b === undefined) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: ${spec.measurement}.${field} has no flag "${flag}"`);
  return 2 ** b;
}

/** value → code of an enum field, for Grafana value mappings. */
export function enumCodes(spec: MeasurementSpec, field: string): Readonly<Record<string, number>> {
  const codes = spec.fields.find((f) => f.name === field && f.kind === 'enum')?.codes;
  if (!codes) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: ${spec.measurement}.${field} is not an enum field`);
  return codes;
}

/** flag → bit number of a flags field. */
export function flagBits(spec: MeasurementSpec, field: string): Readonly<Record<string, number>> {
  const codes = spec.fields.find((f) => f.name === field && f.kind === 'flags')?.codes;
  if (!codes) throw new DashboardError('DASH_ERR_SCHEMA', `dashboards: ${spec.measurement}.${field} is not a flags field`);
  return codes;
}
