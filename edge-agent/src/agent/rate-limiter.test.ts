import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('lets a burst through, then paces by messages and by bytes', () => {
    let now = 0;
    const r = new RateLimiter({ messagesPerSec: 10, bytesPerSec: 1000, burstMessages: 2, burstBytes: 1000 }, () => now);
    expect(r.reserve(100)).toBe(0);
    expect(r.reserve(100)).toBe(0);
    expect(r.reserve(100)).toBe(100);
    now = 100;
    expect(r.reserve(100)).toBe(0);
    now = 1000;
    expect(r.reserve(900)).toBe(0);
    expect(r.reserve(500)).toBeGreaterThan(300);
  });

  it('is off at rate 0', () => {
    const r = new RateLimiter({ messagesPerSec: 0, bytesPerSec: 0 }, () => 0);
    for (let i = 0; i < 1000; i++) expect(r.reserve(65_536)).toBe(0);
  });
});
