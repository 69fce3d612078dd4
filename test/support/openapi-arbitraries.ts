/**
 * fast-check arbitraries from the API's own OpenAPI document: for every parameter and body, values its
 * schema accepts, the values at and just past each bound (the ones that crashed the API: 2^63−1,
 * 8.64e15 + 1), and hostile junk (empty, huge, unicode, SQL, paths, numbers in odd spellings).
 */
import fc from 'fast-check';
import type { Parameter, Route } from './openapi.js';

type Schema = Record<string, unknown> & {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
};

const JUNK = ['', ' ', '0', '-0', '-1', '1.5', '1e300', 'NaN', 'Infinity', '9223372036854775807', '-9223372036854775809', '8640000000000001', '18446744073709551616', 'null', 'true', '%', '%00', '../../etc/passwd', "' OR 1=1 --", '<script>', '😀', 'é'.repeat(300), 'x'.repeat(5000)];
const junk = fc.oneof(fc.constantFrom(...JUNK), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));

/** Numbers past what a store or a Date holds: BIGINT ±2^63, a Date's ±8.64e15, past 2^53, a double's end. */
const EXTREMES = ['9223372036854775807', '-9223372036854775809', '8640000000000001', '-8640000000000001', '9007199254740993', '1e300', '0', '-1'];

/** The schema's bounds and their neighbours, and the extremes, as query-string text. */
function edges(s: Schema): string[] {
  const out = [...EXTREMES];
  for (const b of [s.minimum, s.maximum]) if (typeof b === 'number') out.push(String(b), String(b - 1), String(b + 1));
  return out;
}

/** A query or path value the schema accepts (bounds included), as it travels in a URL. */
export function validTextFor(schema: Schema): fc.Arbitrary<string> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(validTextFor));
  if (schema.enum) return fc.constantFrom(...schema.enum.map(String));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer' || type === 'number') {
    const min = Math.max(schema.minimum ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER);
    const max = Math.min(schema.maximum ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    return fc.oneof(fc.integer({ min, max }).map(String), fc.constantFrom(String(min), String(max)));
  }
  if (type === 'boolean') return fc.constantFrom('true', 'false');
  if (schema.format === 'date-time') return fc.oneof(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2026-11-20T00:00:00+09:00'));
  if (schema.format === 'date') return fc.constantFrom('2026-11-20', '0001-01-01', '9999-12-31');
  const length = { minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 64 };
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((v) => v.length >= length.minLength && v.length <= length.maxLength);
  return fc.string(length);
}

/** A value at or past the schema's bounds, or junk: what an attacker sends. */
export function hostileTextFor(schema: Schema): fc.Arbitrary<string> {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const numeric = type === 'integer' || type === 'number' || schema.anyOf?.some((b) => b.type === 'integer');
  const bounds = [schema, ...(schema.anyOf ?? [])];
  return fc.oneof(
    { weight: numeric ? 3 : 1, arbitrary: fc.constantFrom(...bounds.flatMap(edges)) },
    { weight: 1, arbitrary: fc.string({ minLength: (schema.maxLength ?? 64) + 1, maxLength: (schema.maxLength ?? 64) + 3 }) },
    { weight: 2, arbitrary: junk },
  );
}

/** Either. */
export const textFor = (schema: Schema): fc.Arbitrary<string> => fc.oneof({ weight: 2, arbitrary: validTextFor(schema) }, { weight: 1, arbitrary: hostileTextFor(schema) });

/** A JSON body value: typed as the schema says, or not. */
function jsonFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const any = fc.oneof(fc.constantFrom(null, 0, -1, 1e300, '', true, [], {}), junk);
  if (depth > 3) return any;
  if (schema.enum) return fc.oneof(fc.constantFrom(...schema.enum), any);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' || schema.properties) {
    const props = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, jsonFor(v, depth + 1)]));
    return fc.oneof({ weight: 4, arbitrary: fc.record(props, { requiredKeys: (schema.required ?? []).filter((k) => k in props) }) }, { weight: 1, arbitrary: fc.record(props, { requiredKeys: [] }) }, { weight: 1, arbitrary: any });
  }
  if (type === 'integer' || type === 'number') return fc.oneof(textFor(schema).map(Number), any);
  if (type === 'boolean') return fc.oneof(fc.boolean(), any);
  if (type === 'string') return fc.oneof(textFor(schema), any);
  return any;
}

export interface GeneratedRequest {
  path: string;
  query: Array<[string, string]>;
  body?: unknown;
}

/**
 * Requests to one route: each parameter valid (from `known`, values that exist, by parameter name, or
 * from its schema) or absent, at most one of them hostile; the body from its schema.
 */
export function requestsFor(route: Route, known: Record<string, readonly string[]>): fc.Arbitrary<GeneratedRequest> {
  const params = route.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  // Every parameter valid (or absent), then at most one made hostile: an invalid neighbour must not
  // hide the hostile value behind its own 400.
  const known_ = (p: Parameter) => (known[p.name]?.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known[p.name]!) }, { weight: 1, arbitrary: validTextFor(p.schema as Schema) }) : validTextFor(p.schema as Schema));
  const pathArb = fc.tuple(...pathParams.map(known_));
  const queryArb = fc.tuple(...queryParams.map((p) => fc.option(known_(p), { nil: undefined, freq: 2 })));
  const all = [...pathParams, ...queryParams];
  const hostileArb = all.length === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: 0, max: all.length - 1 }).chain((i) => hostileTextFor(all[i]!.schema as Schema).map((value) => ({ i, value }))), { nil: undefined, freq: 4 });
  const bodySchema = route.op.requestBody?.content['application/json']?.schema as Schema | undefined;
  const bodyArb = bodySchema ? jsonFor(bodySchema) : fc.constant(undefined);
  return fc.record({ values: pathArb, query: queryArb, hostile: hostileArb, body: bodyArb }).map(({ values, query, hostile, body }) => {
    const path_ = [...values];
    const query_ = [...query];
    if (hostile) {
      if (hostile.i < pathParams.length) path_[hostile.i] = hostile.value;
      else query_[hostile.i - pathParams.length] = hostile.value;
    }
    let path = route.path;
    pathParams.forEach((p, i) => (path = path.replace(`{${p.name}}`, encodeURIComponent(path_[i]!))));
    return { path, query: queryParams.flatMap((p, i): Array<[string, string]> => (query_[i] === undefined ? [] : [[p.name, query_[i]!]])), ...(body !== undefined ? { body } : {}) };
  });
}
