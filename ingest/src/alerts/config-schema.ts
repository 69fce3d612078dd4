import { IngestError } from '../errors.js';

/**
 * A tiny validator for the alert rules file: every field has a parser and a default, and an error names
 * the field by its path (`water.burstShareOfNominal: must be ≤ 1, got 5`). The ingest does not depend on
 * zod directly, and the rules need defaults merged at every depth, which this does in one pass.
 */
export interface Field<T> {
  readonly def: T;
  parse(value: unknown, path: string): T;
}

export function configFail(path: string, problem: string): never {
  throw new IngestError('INGEST_ERR_ALERT_CONFIG', `${path}: ${problem}`);
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60) ?? String(v);

export function num(def: number, o: { min?: number; max?: number; int?: boolean } = {}): Field<number> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      if (typeof v !== 'number' || !Number.isFinite(v)) configFail(path, `must be a number, got ${show(v)}`);
      if (o.int && !Number.isInteger(v)) configFail(path, `must be an integer, got ${v}`);
      if (o.min !== undefined && v < o.min) configFail(path, `must be ≥ ${o.min}, got ${v}`);
      if (o.max !== undefined && v > o.max) configFail(path, `must be ≤ ${o.max}, got ${v}`);
      return v;
    },
  };
}

export function bool(def: boolean): Field<boolean> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      if (typeof v !== 'boolean') configFail(path, `must be true or false, got ${show(v)}`);
      return v;
    },
  };
}

export function str(def: string, o: { pattern?: RegExp; hint?: string } = {}): Field<string> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      if (typeof v !== 'string' || v.length === 0) configFail(path, `must be a non-empty string, got ${show(v)}`);
      if (o.pattern && !o.pattern.test(v)) configFail(path, `must be ${o.hint ?? `like ${o.pattern.source}`}, got ${show(v)}`);
      return v;
    },
  };
}

export function oneOf<T extends string>(values: readonly T[], def: NoInfer<T>): Field<T> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) configFail(path, `must be one of ${values.join(', ')}, got ${show(v)}`);
      return v as T;
    },
  };
}

export function arrayOf<T>(item: Field<T>, def: NoInfer<T>[], o: { max?: number; min?: number } = {}): Field<T[]> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      if (!Array.isArray(v)) configFail(path, `must be an array, got ${show(v)}`);
      if (o.min !== undefined && v.length < o.min) configFail(path, `must have at least ${o.min} entries`);
      if (o.max !== undefined && v.length > o.max) configFail(path, `must have at most ${o.max} entries`);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

function plainObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) configFail(path, `must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

/**
 * A map with free keys (e.g. DMA id → baseline); `def` is used when the whole map is absent. With `merge`,
 * given entries are added to (or replace) the default ones instead of replacing the whole map.
 */
export function recordOf<T>(value: Field<T>, def: Record<string, T>, keyPattern?: RegExp, merge = false): Field<Record<string, T>> {
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      const o = plainObject(v, path);
      const out: Record<string, T> = merge ? { ...def } : {};
      for (const [k, x] of Object.entries(o)) {
        if (keyPattern && !keyPattern.test(k)) configFail(`${path}.${k}`, `key must match ${keyPattern.source}`);
        out[k] = value.parse(x, `${path}.${k}`);
      }
      return out;
    },
  };
}

type Shape = Record<string, Field<unknown>>;
export type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** A fixed set of fields, each defaulted on its own; unknown fields are errors (they are usually typos). */
export function object<S extends Shape>(shape: S): Field<Parsed<S>> {
  const def = Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.def])) as Parsed<S>;
  return {
    def,
    parse(v, path) {
      if (v === undefined) return def;
      const o = plainObject(v, path);
      for (const k of Object.keys(o)) if (!(k in shape)) configFail(path ? `${path}.${k}` : k, `unknown field; expected one of ${Object.keys(shape).join(', ')}`);
      return Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.parse(o[k], path ? `${path}.${k}` : k)])) as Parsed<S>;
    },
  };
}

/** Like `object`, with a check across fields after parsing (e.g. warn < major). */
export function refine<T>(field: Field<T>, check: (value: T, path: string) => void): Field<T> {
  return {
    def: field.def,
    parse(v, path) {
      const out = field.parse(v, path);
      check(out, path);
      return out;
    },
  };
}
