/** Turns what InfluxDB / VictoriaMetrics hold back into contract samples, via the exported schema. */
import { decodeField, TELEMETRY_MEASUREMENTS, type FieldSpec } from '@tsunagaru/firmware-contracts';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { ExportedSeries } from './tsdb.js';

export interface ReadBack {
  ts: number;
  boot: number;
  seq: number;
  /** Readings in the contract's shape (enum codes and bitmasks decoded). */
  readings: Record<string, unknown>;
  tags: Record<string, string>;
}

const MESSAGE_KEYS = new Set(['boot', 'seq', 'replay']);

function readingSpecs(type: DeviceType): FieldSpec[] {
  return TELEMETRY_MEASUREMENTS[type].fields.filter((f) => !MESSAGE_KEYS.has(f.name));
}

/** Rows of `SELECT * FROM <measurement>` (InfluxQL, epoch=ms) → samples. */
export function fromInfluxRows(type: DeviceType, rows: Array<Record<string, unknown>>): ReadBack[] {
  const specs = readingSpecs(type);
  const tagKeys = TELEMETRY_MEASUREMENTS[type].tags;
  return rows.map((r) => {
    const readings: Record<string, unknown> = {};
    for (const s of specs) if (r[s.name] !== null && r[s.name] !== undefined) readings[s.name] = decodeField(s, r[s.name] as number);
    const tags = Object.fromEntries(tagKeys.filter((k) => typeof r[k] === 'string' && r[k] !== '').map((k) => [k, r[k] as string]));
    return { ts: r.time as number, boot: r.boot as number, seq: r.seq as number, readings, tags };
  });
}

/** VictoriaMetrics export (one series per field, `${measurement}_${field}`) → samples grouped by series tags + ts. */
export function fromVictoriaExport(type: DeviceType, series: ExportedSeries[]): ReadBack[] {
  const { measurement, tags: tagKeys } = TELEMETRY_MEASUREMENTS[type];
  const specs = new Map(TELEMETRY_MEASUREMENTS[type].fields.map((f) => [`${measurement}_${f.name}`, f]));
  const points = new Map<string, ReadBack>();
  for (const s of series) {
    const spec = specs.get(s.metric.__name__ ?? '');
    if (!spec) continue;
    const tags = Object.fromEntries(tagKeys.filter((k) => s.metric[k] !== undefined).map((k) => [k, s.metric[k]!]));
    s.timestamps.forEach((ts, i) => {
      const key = `${JSON.stringify(tags)}@${ts}`;
      let p = points.get(key);
      if (!p) points.set(key, (p = { ts, boot: NaN, seq: NaN, readings: {}, tags }));
      const v = s.values[i]!;
      if (spec.name === 'boot') p.boot = v;
      else if (spec.name === 'seq') p.seq = v;
      else if (spec.name !== 'replay') p.readings[spec.name] = decodeField(spec, v);
    });
  }
  return [...points.values()].sort((a, b) => a.ts - b.ts || JSON.stringify(a.tags).localeCompare(JSON.stringify(b.tags)));
}
