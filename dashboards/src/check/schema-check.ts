/**
 * Query-vs-schema check: every measurement, field and tag an InfluxQL query uses must exist in the
 * ingest's InfluxDB schema (or, for a query over a subquery, among the subquery's columns and tags), and
 * numeric functions and bitwise operators must get fields of a type they work on.
 */
import type { FieldKind, MeasurementSpec } from '@tsunagaru/firmware-contracts';
import { InfluxqlSyntaxError, parseInfluxql, type Ref, type SelectItem, type SelectStatement, type Source } from './influxql-parse.js';

type ColumnKind = FieldKind | 'number';

/** What a FROM source offers: its tags and its value columns (fields, or a subquery's outputs). */
interface Relation {
  name: string;
  tags: ReadonlySet<string>;
  columns: ReadonlyMap<string, ColumnKind>;
}

export type Schema = ReadonlyMap<string, Relation>;

export function schemaOf(specs: readonly MeasurementSpec[]): Schema {
  return new Map(specs.map((s) => [s.measurement, { name: s.measurement, tags: new Set(s.tags), columns: new Map(s.fields.map((f) => [f.name, f.kind])) }]));
}

/** Functions that only work on numbers (InfluxDB errors on strings and booleans). */
const NUMERIC_FUNCTIONS = new Set(['mean', 'sum', 'median', 'stddev', 'spread', 'integral', 'min', 'max', 'percentile', 'difference', 'non_negative_difference', 'derivative', 'non_negative_derivative', 'moving_average', 'cumulative_sum', 'abs', 'round', 'floor', 'ceil']);
/** Functions that return a value of their argument's type. */
const SELECTORS = new Set(['last', 'first', 'min', 'max', 'sample', 'distinct', 'mode', 'top', 'bottom', 'percentile']);
const NUMERIC_KINDS = new Set<ColumnKind>(['float', 'integer', 'enum', 'flags', 'number']);
const INTEGER_KINDS = new Set<ColumnKind>(['integer', 'enum', 'flags']);

export interface QueryCheck {
  problems: string[];
  /** `measurement.field` for every field read from a measurement (not from a subquery). */
  fields: string[];
  measurements: string[];
}

/** Checks one query; a syntax error is reported as a problem, not thrown. */
export function checkInfluxql(query: string, schema: Schema): QueryCheck {
  const out: QueryCheck = { problems: [], fields: [], measurements: [] };
  try {
    const stmt = parseInfluxql(query);
    if (stmt.kind === 'show-tag-values') {
      for (const m of stmt.measurements) {
        const rel = schema.get(m);
        if (!rel) out.problems.push(`unknown measurement "${m}"`);
        else if (!rel.tags.has(stmt.key)) out.problems.push(`measurement "${m}" has no tag "${stmt.key}"`);
        else out.measurements.push(m);
      }
      if (stmt.measurements.length === 0) out.problems.push('SHOW TAG VALUES without FROM: name the measurement');
    } else {
      checkSelect(stmt, schema, out);
    }
  } catch (err) {
    if (!(err instanceof InfluxqlSyntaxError)) throw err;
    out.problems.push(`cannot parse: ${err.message}`);
  }
  out.fields = [...new Set(out.fields)].sort();
  out.measurements = [...new Set(out.measurements)].sort();
  return out;
}

function relationOf(source: Source, schema: Schema, out: QueryCheck): Relation | undefined {
  if ('regex' in source) {
    out.problems.push(`FROM /${source.regex}/: a regex source cannot be checked against the schema; name the measurements`);
    return undefined;
  }
  if ('measurement' in source) {
    const rel = schema.get(source.measurement);
    if (!rel) out.problems.push(`unknown measurement "${source.measurement}"`);
    else out.measurements.push(source.measurement);
    return rel;
  }
  return checkSelect(source.subquery, schema, out);
}

/** Checks a SELECT and returns what it outputs (for an enclosing query). */
function checkSelect(stmt: SelectStatement, schema: Schema, out: QueryCheck): Relation | undefined {
  const relations = stmt.sources.map((s) => relationOf(s, schema, out)).filter((r): r is Relation => r !== undefined);
  if (relations.length !== stmt.sources.length) return undefined;
  const fromMeasurements = stmt.sources.every((s) => 'measurement' in s);

  const resolve = (ref: Ref, clause: string): ColumnKind | 'tag' | undefined => {
    let kind: ColumnKind | 'tag' | undefined;
    for (const rel of relations) {
      const k = rel.columns.get(ref.name) ?? (rel.tags.has(ref.name) ? 'tag' : undefined);
      if (!k) {
        out.problems.push(`${clause}: "${rel.name}" has no field or tag "${ref.name}"`);
        return undefined;
      }
      if (fromMeasurements && k !== 'tag') out.fields.push(`${rel.name}.${ref.name}`);
      kind ??= k;
    }
    if (kind === 'tag' && ref.fn) out.problems.push(`${clause}: ${ref.fn}() of tag "${ref.name}": functions take fields, not tags`);
    if (kind && kind !== 'tag' && ref.fn && NUMERIC_FUNCTIONS.has(ref.fn) && !NUMERIC_KINDS.has(kind)) out.problems.push(`${clause}: ${ref.fn}() of "${ref.name}", a ${kind} field: it needs a number`);
    if (kind && ref.bitwise && !INTEGER_KINDS.has(kind as ColumnKind)) out.problems.push(`${clause}: bitwise operator on "${ref.name}" (${kind}): it needs an integer field`);
    return kind;
  };

  const columns = new Map<string, ColumnKind>();
  const selectedTags: string[] = [];
  for (const item of stmt.items) {
    const kinds = item.refs.map((r) => resolve(r, 'SELECT'));
    if (item.star) for (const rel of relations) for (const [name, kind] of rel.columns) columns.set(name, kind);
    else if (!item.fn && kinds.length === 1 && kinds[0] === 'tag') selectedTags.push(item.column);
    else columns.set(item.column, itemKind(item, kinds));
  }
  for (const ref of stmt.where) resolve(ref, 'WHERE');
  const allTags = new Set(relations.flatMap((r) => [...r.tags]));
  for (const t of stmt.groupByTags) {
    for (const rel of relations) if (!rel.tags.has(t)) out.problems.push(`GROUP BY: "${rel.name}" has no tag "${t}"`);
  }
  // What an enclosing query sees as tags: the GROUP BY dimensions (or all of them with GROUP BY *).
  const tags = stmt.groupByStar ? allTags : new Set(stmt.groupByTags);
  if (stmt.items.some((i) => i.star)) for (const t of allTags) tags.add(t);
  for (const t of selectedTags) tags.add(t);
  return { name: `(subquery on ${relations.map((r) => r.name).join(', ')})`, tags, columns };
}

function itemKind(item: SelectItem, kinds: Array<ColumnKind | 'tag' | undefined>): ColumnKind {
  if (item.bitwise || item.fn === 'count') return 'integer';
  const only = kinds.length === 1 && kinds[0] !== 'tag' ? kinds[0] : undefined;
  if (item.fn && SELECTORS.has(item.fn)) return only ?? 'number';
  if (item.fn) return 'float';
  return only ?? 'number';
}
