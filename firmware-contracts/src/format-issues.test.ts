import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues, formatPath } from './format-issues.js';

function errorsOf(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a failure');
  return formatIssues(r.error, input);
}

describe('formatPath', () => {
  it.each([
    [[], '(payload)'],
    [['samples', 3, 'batterySocPct'], 'samples[3].batterySocPct'],
    [['samples', 0, 'segments', 1, 'rxDbm'], 'samples[0].segments[1].rxDbm'],
    [[2], '[2]'],
    [['args', 'sec'], 'args.sec'],
  ] as const)('%j → %s', (path, out) => expect(formatPath(path)).toBe(out));
});

describe('formatIssues', () => {
  it('says "is required" for a missing literal or enum, not "must be"', () => {
    const s = z.strictObject({ v: z.literal(1), kind: z.enum(['a', 'b']) });
    expect(errorsOf(s, {})).toEqual(['v: is required', 'kind: is required']);
    expect(errorsOf(s, { v: 2, kind: 'c' })).toEqual(['v: must be 1', 'kind: must be one of "a", "b"']);
  });

  it('names a record as an object', () => {
    const s = z.strictObject({ detail: z.record(z.string(), z.unknown()) });
    expect(errorsOf(s, { detail: [1] })).toEqual(['detail: must be an object, got an array']);
    expect(errorsOf(s, { detail: 'x' })).toEqual(['detail: must be an object, got a string']);
  });

  it('reports an integer beyond the safe range once, though zod raises two issues for it', () => {
    const s = z.strictObject({ n: z.int().max(Number.MAX_SAFE_INTEGER) });
    expect(errorsOf(s, { n: 2 ** 60 })).toEqual(['n: must be ≤ 9007199254740991']);
  });

  it('pluralises lengths correctly', () => {
    expect(errorsOf(z.strictObject({ s: z.string().min(1) }), { s: '' })).toEqual(['s: must be at least 1 character']);
    expect(errorsOf(z.strictObject({ s: z.string().max(2) }), { s: 'abc' })).toEqual(['s: must be at most 2 characters']);
    expect(errorsOf(z.strictObject({ a: z.array(z.int()).min(2) }), { a: [] })).toEqual(['a: must have at least 2 items']);
    expect(errorsOf(z.strictObject({ a: z.array(z.int()).max(1) }), { a: [1, 2] })).toEqual(['a: must have at most 1 item']);
  });

  it('gives one line per unknown key', () => {
    expect(errorsOf(z.strictObject({}), { a: 1, b: 2 })).toEqual(['a: unknown field', 'b: unknown field']);
  });

  it('describes the wrong value it got', () => {
    const s = z.strictObject({ n: z.number(), i: z.int(), b: z.boolean(), o: z.strictObject({}) });
    expect(errorsOf(s, { n: 'x', i: 1.25, b: 0, o: null })).toEqual([
      'n: must be a number, got a string',
      'i: must be an integer, got the number 1.25',
      'b: must be a boolean, got the integer 0',
      'o: must be an object, got null',
    ]);
  });

  it('lists the discriminator values of a union, or says it is missing', () => {
    const s = z.discriminatedUnion('state', [z.strictObject({ state: z.literal('online') }), z.strictObject({ state: z.literal('offline') })]);
    expect(errorsOf(s, { state: 'zombie' })).toEqual(['state: must be one of "online", "offline"']);
    expect(errorsOf(s, {})).toEqual(['state: is required']);
  });
});
