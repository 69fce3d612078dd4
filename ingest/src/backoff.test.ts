import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles per attempt within [ceiling/2, ceiling] and stops at the maximum', () => {
    expect(backoffDelay(0, { initialMs: 100, random: () => 0 })).toBe(50);
    expect(backoffDelay(0, { initialMs: 100, random: () => 0.999999 })).toBe(100);
    expect(backoffDelay(3, { initialMs: 100, random: () => 0 })).toBe(400);
    expect(backoffDelay(50, { initialMs: 100, maxMs: 5000, random: () => 0.999999 })).toBe(5000);
  });
});
