import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type PathSegment = PropertyKey;

/** `["samples", 3, "batterySocPct"]` → `samples[3].batterySocPct` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(payload)' : out;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg as string];
  }
  return cur;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'string') return `a string`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  // z.record (event `detail`, ack `result`) reports its expected type as "record".
  record: 'an object',
  array: 'an array',
};

function plural(n: number | bigint, noun: string): string {
  return `${String(n)} ${noun}${Number(n) === 1 ? '' : 's'}`;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** One readable line per issue, always naming the field: `samples[3].batterySocPct: must be ≤ 100`. */
export function formatIssue(issue: Issue, input: unknown): string[] {
  const where = formatPath(issue.path);
  switch (issue.code) {
    case 'too_big': {
      if (issue.origin === 'array') return [`${where}: must have at most ${plural(issue.maximum, 'item')}`];
      if (issue.origin === 'string') return [`${where}: must be at most ${plural(issue.maximum, 'character')}`];
      return [`${where}: must be ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`];
    }
    case 'too_small': {
      if (issue.origin === 'array') return [`${where}: must have at least ${plural(issue.minimum, 'item')}`];
      if (issue.origin === 'string') return [`${where}: must be at least ${plural(issue.minimum, 'character')}`];
      return [`${where}: must be ${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`];
    }
    case 'invalid_type': {
      const got = valueAt(input, issue.path);
      if (got === undefined) return [`${where}: is required`];
      return [`${where}: must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describe(got)}`];
    }
    case 'invalid_value':
      // A missing literal/enum field (`v`, event `type`) is reported by zod as a wrong value.
      if (valueAt(input, issue.path) === undefined) return [`${where}: is required`];
      return issue.values.length === 1
        ? [`${where}: must be ${JSON.stringify(issue.values[0])}`]
        : [`${where}: must be one of ${quoteList(issue.values)}`];
    case 'unrecognized_keys':
      return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown field`);
    case 'invalid_format':
      return [`${where}: must match ${'pattern' in issue && issue.pattern ? String(issue.pattern) : issue.format}`];
    case 'invalid_union': {
      // A discriminated union whose discriminator matched no option carries the allowed values.
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options) && options.length > 0) {
        return valueAt(input, issue.path) === undefined ? [`${where}: is required`] : [`${where}: must be one of ${quoteList(options)}`];
      }
      return [`${where}: ${issue.message}`];
    }
    default:
      return [`${where}: ${issue.message}`];
  }
}

export function formatIssues(error: z.ZodError, input: unknown): string[] {
  // z.int() carries an implicit safe-integer bound, so an oversized integer can fail `.max()` twice.
  return [...new Set(error.issues.flatMap((issue) => formatIssue(issue, input)))];
}
