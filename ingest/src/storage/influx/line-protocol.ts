/** InfluxDB line protocol for our schema (schema.ts): one line per point, timestamps in ms. */
import { ATTRIBUTE_TAGS, EVENT_MEASUREMENT, TAG_VALUE_PATTERN, TELEMETRY_MEASUREMENTS, type FieldSpec, type RingNodeSample } from '@tsunagaru/firmware-contracts';
import type { StorableMessage } from '../types.js';

/** Looks up the registry attributes of a device (for the bounded attribute tags). */
export type DeviceAttributes = (deviceId: string) => Readonly<Record<string, unknown>> | undefined;

export interface LineOptions {
  /** Write string fields (event `detail`). Off for VictoriaMetrics, which stores a string as 0. Default true. */
  stringFields?: boolean;
  /** Series keys built before, reused while a device's attributes are unchanged (one per writer). */
  seriesKeys?: SeriesKeyCache;
}

/**
 * The series key of each device's telemetry, kept while its registry attributes object is the same one:
 * the registry replaces that object on every change (copy on write), so the same object means the same
 * tags. Building the key (attribute tags, sorting, escaping) was a third of the cost of writing live
 * one-sample messages to InfluxDB (bench ingest-e2e profile). Cleared when it holds `max` devices.
 */
export class SeriesKeyCache {
  private readonly keys = new Map<string, { attrs: unknown; type: string; measurement: string; key: string }>();

  constructor(private readonly max = 200_000) {}

  key(m: StorableMessage, measurement: string, attributes: DeviceAttributes): string {
    const attrs = attributes(m.deviceId);
    const hit = this.keys.get(m.deviceId);
    if (hit && hit.attrs === attrs && hit.type === m.type && hit.measurement === measurement) return hit.key;
    const key = seriesKey(measurement, baseTags(m, () => attrs));
    if (this.keys.size >= this.max) this.keys.clear();
    this.keys.set(m.deviceId, { attrs, type: m.type, measurement, key });
    return key;
  }
}

const escapeMeasurement = (s: string) => s.replace(/[, \\]/g, (c) => `\\${c}`);
const escapeKey = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const escapeString = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** Renders one field value in its schema type; undefined when the value does not fit (it is then left out). */
export function formatField(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'float':
      // No `i` suffix: InfluxDB reads 50 as a float, the same type as 50.5.
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) ? `${value}i` : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : undefined;
    case 'enum': {
      const code = typeof value === 'string' ? spec.codes![value] : undefined;
      return code === undefined ? undefined : `${code}i`;
    }
    case 'flags': {
      if (!Array.isArray(value)) return undefined;
      let mask = 0;
      for (const v of value) {
        const bit = spec.codes![String(v)];
        if (bit !== undefined) mask |= 1 << bit;
      }
      return `${mask}i`;
    }
    case 'string':
      return typeof value === 'string' ? escapeString(value) : undefined;
  }
}

/** `deviceId`, `type` and the allowed attribute tags, in key order (InfluxDB's canonical series key). */
export function baseTags(m: StorableMessage, attributes: DeviceAttributes): Array<[string, string]> {
  const tags: Array<[string, string]> = [
    ['deviceId', m.deviceId],
    ['type', m.type],
  ];
  const attrs = attributes(m.deviceId) ?? {};
  for (const key of ATTRIBUTE_TAGS) {
    const v = attrs[key];
    if ((typeof v === 'string' || typeof v === 'number') && TAG_VALUE_PATTERN.test(String(v))) tags.push([key, String(v)]);
  }
  return tags;
}

/** Measurement and sorted, escaped tags: the series key, the same for every sample of a message. */
function seriesKey(measurement: string, tags: Array<[string, string]>): string {
  const tagPart = [...tags]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`)
    .join('');
  return `${escapeMeasurement(measurement)}${tagPart}`;
}

const escapedKeys = new Map<string, string>();
function fieldKey(name: string): string {
  let k = escapedKeys.get(name);
  if (k === undefined) escapedKeys.set(name, (k = escapeKey(name)));
  return k;
}

/**
 * The field set of one point, in schema order. `ids` (boot, seq, replay) take precedence over `values`.
 * Built by concatenation with the series key and escaped names computed once: this runs per sample, and
 * was the ingest's largest cost on the way to InfluxDB (npm run bench).
 */
function fieldSet(specs: readonly FieldSpec[], values: Readonly<Record<string, unknown>>, ids: Readonly<Record<string, unknown>>): string {
  let out = '';
  for (const spec of specs) {
    const v = Object.hasOwn(ids, spec.name) ? ids[spec.name] : values[spec.name];
    if (v === undefined) continue;
    const f = formatField(spec, v);
    if (f === undefined) continue;
    out += `${out === '' ? '' : ','}${fieldKey(spec.name)}=${f}`;
  }
  return out;
}

/** The points of one validated message. */
export function messageLines(m: StorableMessage, attributes: DeviceAttributes, options: LineOptions = {}): string[] {
  const ids = { boot: m.payload.boot, seq: m.payload.seq, replay: m.payload.replay ?? false };
  if (m.channel === 'event') {
    const tags = baseTags(m, attributes);
    const spec = EVENT_MEASUREMENT;
    const detail = options.stringFields === false || m.payload.detail === undefined ? {} : { detail: JSON.stringify(m.payload.detail) };
    return [`${seriesKey(spec.measurement, [...tags, ['event', m.payload.type]])} ${fieldSet(spec.fields, detail, ids)} ${m.payload.ts}`];
  }
  const spec = TELEMETRY_MEASUREMENTS[m.type];
  if (m.type === 'ring-node') {
    const tags = baseTags(m, attributes);
    return (m.payload.samples as RingNodeSample[]).flatMap((sample) =>
      sample.segments.map((seg) => `${seriesKey(spec.measurement, [...tags, ['segment', seg.id]])} ${fieldSet(spec.fields, seg, ids)} ${sample.ts}`),
    );
  }
  const key = options.seriesKeys ? options.seriesKeys.key(m, spec.measurement, attributes) : seriesKey(spec.measurement, baseTags(m, attributes));
  const samples = m.payload.samples as ReadonlyArray<Record<string, unknown> & { ts: number }>;
  const out = new Array<string>(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = `${key} ${fieldSet(spec.fields, samples[i]!, ids)} ${samples[i]!.ts}`;
  return out;
}
