/**
 * The InfluxDB schema as data, shared by the ingest that writes it and the dashboards that read it
 * (docs/influxdb-schema.md explains it; dashboards are checked against it).
 *
 * - One measurement per device type; ring-node readings go one point per segment to `ring_segment`.
 * - Tags: `deviceId`, `type` and the bounded registry attributes in ATTRIBUTE_TAGS; never a value that
 *   grows without bound (seq, ts, free text).
 * - Every field has ONE type, whatever the value looks like: InfluxDB fixes a field's type at its first
 *   write, so `50` and `50.5` must both be floats. Enumerations are integer codes and alarm lists integer
 *   bitmasks, so the same schema works on VictoriaMetrics (which stores numbers only).
 * - Timestamps are the samples' own `ts`, precision ms. `boot`, `seq` (and `replay`) are fields, so a
 *   redelivered message writes exactly the same points (same series and timestamp): an idempotent overwrite.
 */
import { EVENT_TYPES } from './event.js';
import { WATER_METER_ALARMS } from './telemetry.js';
import type { DeviceType } from './topics.js';

/** How a field is written: float (never `i`), integer (`i`), boolean, a code from `codes`, or a bitmask. */
export type FieldKind = 'float' | 'integer' | 'boolean' | 'enum' | 'flags' | 'string';

/** The line-protocol type InfluxDB stores for each kind. */
export const INFLUX_TYPE: Record<FieldKind, 'float' | 'integer' | 'boolean' | 'string'> = {
  float: 'float',
  integer: 'integer',
  boolean: 'boolean',
  enum: 'integer',
  flags: 'integer',
  string: 'string',
};

export interface FieldSpec {
  /** Field key, equal to the contract's reading name. */
  name: string;
  kind: FieldKind;
  /** enum: value → integer code; flags: value → bit number. */
  codes?: Readonly<Record<string, number>>;
  unit?: string;
}

export interface MeasurementSpec {
  measurement: string;
  tags: readonly string[];
  fields: readonly FieldSpec[];
}

/** Registry attributes written as tags (bounded: a district, a site, an island). Others stay in the registry. */
export const ATTRIBUTE_TAGS = ['site', 'dma', 'island'] as const;
/** A tag value we write; anything else (too long, odd characters) is left out rather than exploding cardinality. */
export const TAG_VALUE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

const BASE_TAGS = ['deviceId', 'type', ...ATTRIBUTE_TAGS] as const;

/** Fields on every telemetry and event point: they identify the message, so redelivery rewrites the same point. */
export const MESSAGE_FIELDS: readonly FieldSpec[] = [
  { name: 'boot', kind: 'integer' },
  { name: 'seq', kind: 'integer' },
  { name: 'replay', kind: 'boolean' },
];

const f = (name: string, unit?: string): FieldSpec => ({ name, kind: 'float', ...(unit ? { unit } : {}) });
const i = (name: string, unit?: string): FieldSpec => ({ name, kind: 'integer', ...(unit ? { unit } : {}) });
const e = (name: string, values: readonly string[]): FieldSpec => ({ name, kind: 'enum', codes: Object.fromEntries(values.map((v, n) => [v, n])) });

export const ALARM_BITS: Readonly<Record<string, number>> = Object.fromEntries(WATER_METER_ALARMS.map((a, n) => [a, n]));

/** Readings per device type (contract v1 "Envelope"). Codes are append-only: never renumber. */
export const READING_FIELDS: Record<DeviceType, readonly FieldSpec[]> = {
  'smart-pole': [
    f('airTempC', '°C'),
    f('humidityPct', '%'),
    f('noiseDb', 'dB'),
    f('pm25', 'µg/m³'),
    i('peopleCount', 'people'),
    i('wifiClients', 'clients'),
    e('fiveG', ['down', 'up']),
    f('powerW', 'W'),
    f('cabinetTempC', '°C'),
    { name: 'doorOpen', kind: 'boolean' },
  ],
  'water-meter': [i('indexL', 'L'), f('flowLph', 'L/h'), f('batteryPct', '%'), { name: 'alarms', kind: 'flags', codes: ALARM_BITS }, f('rssiDbm', 'dBm'), f('snrDb', 'dB')],
  'bs-power': [
    e('mains', ['off', 'on']),
    f('rectifierV', 'V'),
    f('loadA', 'A'),
    f('batterySocPct', '%'),
    f('batteryV', 'V'),
    f('batteryA', 'A'),
    f('batteryTempC', '°C'),
    f('batterySohPct', '%'),
    f('batteryCapacityAh', 'Ah'),
    e('generator', ['off', 'starting', 'running', 'fault']),
    f('fuelPct', '%'),
    e('backhaul', ['down', 'satellite', 'fiber']),
    f('runtimeMin', 'min'),
  ],
  // One point per segment (tag `segment`), in measurement ring_segment.
  'ring-node': [e('state', ['down', 'degraded', 'up']), f('rxDbm', 'dBm'), e('supervisory', ['down', 'up'])],
};

export const TELEMETRY_MEASUREMENTS: Record<DeviceType, MeasurementSpec> = {
  'smart-pole': { measurement: 'smart_pole', tags: BASE_TAGS, fields: [...READING_FIELDS['smart-pole'], ...MESSAGE_FIELDS] },
  'water-meter': { measurement: 'water_meter', tags: BASE_TAGS, fields: [...READING_FIELDS['water-meter'], ...MESSAGE_FIELDS] },
  'bs-power': { measurement: 'bs_power', tags: BASE_TAGS, fields: [...READING_FIELDS['bs-power'], ...MESSAGE_FIELDS] },
  'ring-node': { measurement: 'ring_segment', tags: [...BASE_TAGS, 'segment'], fields: [...READING_FIELDS['ring-node'], ...MESSAGE_FIELDS] },
};

/** Events: tag `event` is the event type (a closed list per device type, so bounded). */
export const EVENT_MEASUREMENT: MeasurementSpec = {
  measurement: 'device_event',
  tags: [...BASE_TAGS, 'event'],
  fields: [...MESSAGE_FIELDS, { name: 'detail', kind: 'string' }],
};

/** Alerts (issue 4) get their own measurement; reserved here so nothing else takes the name. */
export const ALERT_MEASUREMENT = 'alert';

/**
 * What an alert writer puts in ALERT_MEASUREMENT: one point per change of an alert (raised, updated,
 * cleared, acknowledged, shelved) at the time of the change, so `last()` per (deviceId, rule, object) is
 * the alert's current state. Severity is a field, not a tag: an escalation must not start a new series
 * that keeps the old severity "active" for ever. Tags: the device's (`deviceId`, `type` and its attribute
 * tags, absent for virtual objects such as the ring), `rule` (the alarm type), `group` (field, water,
 * disaster) and `object` (a segment, an island, a meter alarm flag; absent when none). The Grafana
 * dashboards (dashboards/) query exactly these names; a test checks them.
 */
export const ALERT_POINT: MeasurementSpec = {
  measurement: ALERT_MEASUREMENT,
  tags: [...BASE_TAGS, 'rule', 'group', 'object'],
  fields: [
    e('state', ['cleared', 'active']),
    // X.733 severities in rank order (alerts/types.ts SEVERITY_RANK): critical = 4.
    e('severity', ['indeterminate', 'warning', 'minor', 'major', 'critical']),
    f('value'),
    { name: 'acknowledged', kind: 'boolean' },
    { name: 'shelved', kind: 'boolean' },
    { name: 'id', kind: 'string' },
    { name: 'message', kind: 'string' },
  ],
};

/** Every event type that can appear in the `event` tag. */
export const EVENT_TAG_VALUES: readonly string[] = [...new Set(Object.values(EVENT_TYPES).flat())].sort();

export const ALL_MEASUREMENTS: readonly MeasurementSpec[] = [...Object.values(TELEMETRY_MEASUREMENTS), EVENT_MEASUREMENT];

/** Decodes an enum code or a bitmask back into the contract's value (for readback and dashboards). */
export function decodeField(spec: FieldSpec, value: number): unknown {
  if (spec.kind === 'enum') return Object.entries(spec.codes!).find(([, code]) => code === value)?.[0];
  if (spec.kind === 'flags') return Object.entries(spec.codes!).filter(([, bit]) => (value & (1 << bit)) !== 0).map(([name]) => name);
  if (spec.kind === 'boolean') return value === 1 || (value as unknown) === true;
  return value;
}
