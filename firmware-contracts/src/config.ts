/**
 * Configuration checked with zod, the same way in every package: a config file (the alert rules, the
 * edge agent's) or a process's environment. Validated once at start, then frozen; every problem is one
 * line naming the field or variable, what it must be and what it was (style: fastify's
 * initial-config-validation): `water.burstSharePct: must be ≤ 100, got 500`.
 *
 * A schema words its own messages where a reader needs more (the fix, an example); the rest are worded
 * here from the issue. A message may hold `{got}` to place the value it was given; otherwise `, got …` is
 * appended to every problem about a value that was there.
 */
import { z } from 'zod';

export type ConfigResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

/** `["ring", "topology", "gateways", 0]` → `ring.topology.gateways[0]`. */
export function configPath(path: readonly PropertyKey[], root = '(config)'): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out === '' ? root : out;
}

/** A value as a problem quotes it: JSON, cut short. */
export function shown(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_WORDS: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  never: 'absent',
};

const entries = (n: number | bigint) => `${String(n)} ${Number(n) === 1 ? 'entry' : 'entries'}`;

/** The wording of a problem a schema did not word itself (zod's per-parse error map). */
function wording(iss: RawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `must be ${TYPE_WORDS[iss.expected] ?? iss.expected}`;
    case 'too_small':
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at least ${entries(iss.minimum)}`;
      if (iss.origin === 'string') return Number(iss.minimum) === 1 ? 'must not be empty' : `must be at least ${String(iss.minimum)} characters`;
      return `must be ${iss.inclusive === false ? '>' : '≥'} ${String(iss.minimum)}`;
    case 'too_big':
      if (iss.origin === 'array' || iss.origin === 'set') return `must have at most ${entries(iss.maximum)}`;
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters`;
      return `must be ${iss.inclusive === false ? '<' : '≤'} ${String(iss.maximum)}`;
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${shown(iss.values[0])}` : `must be one of ${iss.values.map(String).join(', ')}`;
    case 'invalid_format':
      return 'pattern' in iss && iss.pattern ? `must match ${String(iss.pattern)}` : `must be ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      return shape ? `unknown field; expected one of ${Object.keys(shape).join(', ')}` : 'unknown field';
    }
    case 'invalid_union': {
      const options = (iss as { options?: unknown[] }).options;
      return options?.length ? `must be one of ${options.map(String).join(', ')}` : undefined;
    }
    default:
      return undefined;
  }
}

/** The value an issue is about (for a discriminated union: its discriminator's). */
function inputOf(issue: Issue): unknown {
  const disc = (issue as { discriminator?: string }).discriminator;
  const input = (issue as { input?: unknown }).input;
  if (disc && input !== null && typeof input === 'object') return (input as Record<string, unknown>)[disc];
  return input;
}

/** One line per problem (an unknown key is one line each), naming the field: see the module comment. */
export function configProblems(error: z.ZodError, root = '(config)'): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${configPath([...issue.path, key], root)}: ${issue.message}`);
      continue;
    }
    const value = inputOf(issue);
    let message = issue.code === 'invalid_union' && value === undefined && (issue as { discriminator?: string }).discriminator ? 'is required' : issue.message;
    const got = value === undefined ? '' : `got ${shown(value)}`;
    if (message.includes('{got}')) message = message.replace('{got}', got).replace(/, ;/, ';');
    else if (got && issue.code !== 'custom' && !/\bgot\b/.test(message) && message !== 'is required') message = `${message}, ${got}`;
    lines.push(`${configPath(issue.path, root)}: ${message}`);
  }
  return [...new Set(lines)];
}

/** Validates `input`: the parsed value, deep-frozen, or every problem as a line. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, root?: string): ConfigResult<Readonly<z.output<S>>> {
  const result = schema.safeParse(input, { error: wording, reportInput: true });
  if (!result.success) return { ok: false, problems: configProblems(result.error, root) };
  return { ok: true, value: deepFreeze(result.data) };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * JSON Schema (draft 2020-12) of what a config file may hold, for editors (YAML and JSON language servers
 * complete and check fields with it). Describes the input: defaults shown, nothing required that has one.
 */
export function configJsonSchema(schema: z.ZodType, meta: { id: string; title: string; description: string }): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = json;
  return { $schema, $id: meta.id, title: meta.title, description: meta.description, ...rest };
}

/**
 * Environment variables: every value is a string, and an empty one counts as unset, in every process
 * (so `DATA_DIR=` means the default `./data` everywhere). What a variable must be reads as the error.
 */
export const envVar = {
  /** Text that is not blank. */
  text: (message = 'must not be blank') => z.string().refine((s) => s.trim() !== '', { error: (iss) => `${message}, got ${shown(iss.input)}` }),
  /** Text matching `pattern`; `message` says what it must be. */
  pattern: (pattern: RegExp, message: string) => z.string().regex(pattern, { error: message }),
  /** One of `values`. */
  oneOf: <const T extends readonly [string, ...string[]]>(values: T, message = `must be one of ${values.join(', ')}`) => z.enum(values, { error: message }),
  /** `on`/`off` (or `true`/`false` with `words`), as a boolean. */
  flag: (words: readonly [string, string] = ['on', 'off'], message = `must be ${words[0]} or ${words[1]}`) =>
    z.enum([words[0], words[1]], { error: message }).transform((v) => v === words[0]),
  /**
   * A whole number in decimal digits, `min`…`max`. `message`: what a value that is not one is told
   * (default `must be an integer min-max`); below `min`: `must be at least min`; above `max`: `must be at most max`.
   */
  int: (o: { min?: number; max?: number; message?: string } = {}) => {
    const min = o.min ?? 0;
    const max = o.max ?? Number.MAX_SAFE_INTEGER;
    return z
      .string()
      .superRefine((s, ctx) => {
        const problem = !/^[0-9]{1,15}$/.test(s) ? (o.message ?? `must be an integer ${min}-${max}`) : Number(s) < min ? `must be at least ${min}` : Number(s) > max ? `must be at most ${max}` : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${shown(s)}` });
      })
      .transform(Number);
  },
  /** `word` (e.g. `off`) or a whole number as `int` takes it. */
  intOr: <const W extends string>(word: W, o: { min?: number; max?: number; message: string }) =>
    z.union([z.literal(word), envVar.int(o)], { error: (iss) => `${o.message}, got ${shown(iss.input)}` }),
};

/** The values of an env schema (its variables as `shape`): each one absent when unset. */
export type EnvValues<S extends z.ZodRawShape> = Partial<z.output<z.ZodObject<S>>>;

/** Turns `env` into what an env schema parses: only the variables it names, an empty one left out (unset). */
export function envInput(shape: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(shape)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/** Parses `env` with an env schema (its variables as `shape`): the typed values, or every problem. */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: Readonly<Record<string, string | undefined>>): ConfigResult<Readonly<z.output<z.ZodObject<S>>>> {
  return parseConfig(z.object(shape), envInput(shape, env), '(environment)');
}
