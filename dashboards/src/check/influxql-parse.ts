/**
 * Just enough of an InfluxQL parser to know what a dashboard query reads: the measurements (or subquery)
 * it selects from, and every identifier it uses in SELECT, WHERE and GROUP BY, with the functions applied.
 * Grammar: https://docs.influxdata.com/influxdb/v1/query_language/spec/ (SELECT and SHOW TAG VALUES).
 */
import { DashboardError } from '../errors.js';

export type TokenKind = 'ident' | 'keyword' | 'string' | 'regex' | 'number' | 'duration' | 'var' | 'op' | 'lparen' | 'rparen' | 'comma' | 'star';
export interface Token {
  kind: TokenKind;
  value: string;
}

const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'AS', 'AND', 'OR', 'ORDER', 'LIMIT', 'SLIMIT', 'OFFSET', 'SOFFSET', 'FILL', 'TZ', 'ASC', 'DESC', 'SHOW', 'TAG', 'VALUES', 'WITH', 'KEY', 'TIME', 'NOW', 'NULL', 'NONE', 'PREVIOUS', 'LINEAR', 'TRUE', 'FALSE', 'IN']);
/** Keywords that are followed by an argument list, like a function. */
const CALL_KEYWORDS = new Set(['TIME', 'NOW', 'FILL', 'TZ']);
const OPERATORS = ['=~', '!~', '!=', '<>', '>=', '<=', '::', '=', '<', '>', '+', '-', '/', '%', '&', '|', '^'];

export class InfluxqlSyntaxError extends DashboardError {
  constructor(message: string) {
    super('DASH_ERR_INFLUXQL', message);
  }
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const prev = () => tokens.at(-1);
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++;
        value += text[j] ?? '';
        j++;
      }
      if (j >= text.length) throw new InfluxqlSyntaxError(`unterminated ${c === '"' ? 'identifier' : 'string'} at ${i}`);
      tokens.push({ kind: c === '"' ? 'ident' : 'string', value });
      i = j + 1;
    } else if (c === '/' && (prev()?.value === '=~' || prev()?.value === '!~' || (prev()?.kind === 'keyword' && prev()?.value === 'FROM'))) {
      const end = text.indexOf('/', i + 1);
      if (end < 0) throw new InfluxqlSyntaxError(`unterminated regex at ${i}`);
      tokens.push({ kind: 'regex', value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '$') {
      const m = /^\$(\{[^}]+\}|[A-Za-z0-9_]+)/.exec(text.slice(i));
      if (!m) throw new InfluxqlSyntaxError(`bad variable at ${i}`);
      tokens.push({ kind: 'var', value: m[1]!.replace(/^\{|\}$/g, '') });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([a-zµ]+)?/.exec(text.slice(i))!;
      tokens.push({ kind: m[2] ? 'duration' : 'number', value: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      const upper = m[0].toUpperCase();
      tokens.push(KEYWORDS.has(upper) ? { kind: 'keyword', value: upper } : { kind: 'ident', value: m[0] });
      i += m[0].length;
    } else if (c === '(' || c === ')' || c === ',' || c === '*') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : c === ',' ? 'comma' : 'star', value: c });
      i++;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (!op) throw new InfluxqlSyntaxError(`unexpected "${c}" at ${i}`);
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    }
  }
  return tokens;
}

/** An identifier used by a clause, with the function it is the direct argument of (if any). */
export interface Ref {
  name: string;
  fn?: string;
  /** Operand of a bitwise operator (needs an integer). */
  bitwise?: boolean;
}

export interface SelectItem {
  /** The output column name: alias, function name, or the identifier itself. */
  column: string;
  refs: Ref[];
  star: boolean;
  /** The outermost function (e.g. `last`), if the item is a call. */
  fn?: string;
  bitwise: boolean;
}

export type Source = { measurement: string } | { regex: string } | { subquery: SelectStatement };

export interface SelectStatement {
  kind: 'select';
  items: SelectItem[];
  sources: Source[];
  where: Ref[];
  groupByTags: string[];
  groupByStar: boolean;
}

export interface ShowTagValues {
  kind: 'show-tag-values';
  measurements: string[];
  key: string;
  where: Ref[];
}

export type Statement = SelectStatement | ShowTagValues;

/** Splits tokens at depth-0 commas. */
function splitTopLevel(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'lparen') depth++;
    if (t.kind === 'rparen') depth--;
    if (t.kind === 'comma' && depth === 0) parts.push([]);
    else parts.at(-1)!.push(t);
  }
  return parts.filter((p) => p.length > 0);
}

/** Identifiers of an expression (not function names, not type casts), with their direct function. */
function refsOf(tokens: Token[]): Ref[] {
  const refs: Ref[] = [];
  const fnStack: Array<string | undefined> = [];
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    if (t.kind === 'lparen') {
      const before = tokens[i - 1];
      const isCall = before?.kind === 'ident' || (before?.kind === 'keyword' && CALL_KEYWORDS.has(before.value));
      fnStack.push(isCall ? before.value.toLowerCase() : undefined);
    }
    if (t.kind === 'rparen') fnStack.pop();
    if (t.kind !== 'ident' || next?.kind === 'lparen' || tokens[i - 1]?.value === '::') return;
    const bitwise = next?.value === '&' || next?.value === '|' || next?.value === '^' || ['&', '|', '^'].includes(tokens[i - 1]?.value ?? '');
    refs.push({ name: t.value, ...(fnStack.at(-1) ? { fn: fnStack.at(-1)! } : {}), ...(bitwise ? { bitwise } : {}) });
  });
  return refs;
}

/** Marks the argument of `fn(x) & n` as a bitwise operand too. */
function bitwiseAfterCall(tokens: Token[], refs: Ref[]): void {
  tokens.forEach((t, i) => {
    if (t.kind === 'op' && ['&', '|', '^'].includes(t.value) && tokens[i - 1]?.kind === 'rparen') {
      const arg = tokens[i - 2];
      const ref = arg?.kind === 'ident' ? refs.find((r) => r.name === arg.value) : undefined;
      if (ref) ref.bitwise = true;
    }
  });
}

function selectItem(tokens: Token[]): SelectItem {
  let body = tokens;
  let alias: string | undefined;
  const asAt = tokens.findIndex((t, i) => t.kind === 'keyword' && t.value === 'AS' && i === tokens.length - 2);
  if (asAt >= 0) {
    alias = tokens[asAt + 1]!.value;
    body = tokens.slice(0, asAt);
  }
  const refs = refsOf(body);
  bitwiseAfterCall(body, refs);
  const fn = body[0]?.kind === 'ident' && body[1]?.kind === 'lparen' ? body[0].value.toLowerCase() : undefined;
  const bitwise = body.some((t) => t.kind === 'op' && ['&', '|', '^'].includes(t.value));
  const column = alias ?? fn ?? (body.length === 1 && body[0]!.kind === 'ident' ? body[0]!.value : '?');
  return { column, refs, star: body.some((t) => t.kind === 'star'), ...(fn ? { fn } : {}), bitwise };
}

const isKw = (t: Token | undefined, ...values: string[]) => t?.kind === 'keyword' && values.includes(t.value);

/** Index of the first depth-0 token at or after `from` matching `pred`, or tokens.length. */
function findTop(tokens: Token[], from: number, pred: (t: Token, i: number) => boolean): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'lparen') depth++;
    else if (t.kind === 'rparen') depth--;
    else if (depth === 0 && pred(t, i)) return i;
  }
  return tokens.length;
}

function parseSelect(tokens: Token[]): SelectStatement {
  if (!isKw(tokens[0], 'SELECT')) throw new InfluxqlSyntaxError('expected SELECT');
  const fromAt = findTop(tokens, 1, (t) => isKw(t, 'FROM'));
  if (fromAt === tokens.length) throw new InfluxqlSyntaxError('SELECT without FROM');
  const clauseEnd = (start: number) => findTop(tokens, start, (t, i) => isKw(t, 'WHERE', 'ORDER', 'LIMIT', 'SLIMIT', 'OFFSET', 'SOFFSET', 'TZ', 'FILL') || (isKw(t, 'GROUP') && isKw(tokens[i + 1], 'BY')));
  const fromEnd = clauseEnd(fromAt + 1);
  const sources: Source[] = splitTopLevel(tokens.slice(fromAt + 1, fromEnd)).map((part) => {
    if (part[0]?.kind === 'lparen') return { subquery: parseSelect(part.slice(1, -1)) };
    if (part.length === 1 && part[0]!.kind === 'regex') return { regex: part[0]!.value };
    if (part.length === 1 && part[0]!.kind === 'ident') return { measurement: part[0]!.value };
    throw new InfluxqlSyntaxError(`cannot read the FROM source "${part.map((t) => t.value).join(' ')}"`);
  });
  let where: Ref[] = [];
  let groupByTags: string[] = [];
  let groupByStar = false;
  let i = fromEnd;
  while (i < tokens.length) {
    const t = tokens[i]!;
    const end = clauseEnd(i + (isKw(t, 'GROUP') ? 2 : 1));
    const body = tokens.slice(i + (isKw(t, 'GROUP') ? 2 : 1), end);
    if (isKw(t, 'WHERE')) where = refsOf(body);
    if (isKw(t, 'GROUP')) {
      for (const dim of splitTopLevel(body)) {
        if (isKw(dim[0], 'TIME')) continue;
        if (dim.length === 1 && dim[0]!.kind === 'star') groupByStar = true;
        else if (dim.length === 1 && dim[0]!.kind === 'ident') groupByTags.push(dim[0]!.value);
        else throw new InfluxqlSyntaxError(`cannot read the GROUP BY dimension "${dim.map((x) => x.value).join(' ')}"`);
      }
    }
    i = end;
  }
  const items = splitTopLevel(tokens.slice(1, fromAt)).map(selectItem);
  if (items.length === 0) throw new InfluxqlSyntaxError('SELECT without fields');
  return { kind: 'select', items, sources, where, groupByTags, groupByStar };
}

function parseShowTagValues(tokens: Token[]): ShowTagValues {
  const fromAt = tokens.findIndex((t) => isKw(t, 'FROM'));
  const withAt = tokens.findIndex((t) => isKw(t, 'WITH'));
  if (withAt < 0 || !isKw(tokens[withAt + 1], 'KEY') || tokens[withAt + 2]?.value !== '=' || tokens[withAt + 3]?.kind !== 'ident') throw new InfluxqlSyntaxError('SHOW TAG VALUES needs WITH KEY = "tag"');
  const measurements = fromAt < 0 ? [] : splitTopLevel(tokens.slice(fromAt + 1, withAt)).map((p) => p[0]!.value);
  const whereAt = tokens.findIndex((t) => isKw(t, 'WHERE'));
  return { kind: 'show-tag-values', measurements, key: tokens[withAt + 3]!.value, where: whereAt < 0 ? [] : refsOf(tokens.slice(whereAt + 1)) };
}

export function parseInfluxql(text: string): Statement {
  const tokens = tokenize(text);
  if (isKw(tokens[0], 'SHOW') && isKw(tokens[1], 'TAG') && isKw(tokens[2], 'VALUES')) return parseShowTagValues(tokens);
  return parseSelect(tokens);
}
