import { describe, expect, it } from 'vitest';
import { hashSecret } from './registry/secret-hash.js';
import { SecretCheck } from './secret-check.js';

const RIGHT = 'the-right-secret-0123456789';
const WRONG = 'a-wrong-secret-00000000000';

describe('SecretCheck', () => {
  it('verifies with scrypt the first time, then recognises the same secret without scrypt', async () => {
    const check = new SecretCheck({ maxConcurrent: 1 });
    const hash = await hashSecret(RIGHT, { N: 1024 });
    expect(await check.verify('pole-01', RIGHT, hash)).toBe('match');
    expect(check.stats()).toMatchObject({ verified: 1, fastPath: 0, remembered: 1 });
    expect(await check.verify('pole-01', RIGHT, hash)).toBe('match');
    expect(check.stats()).toMatchObject({ verified: 1, fastPath: 1 });
  });

  it('sends a wrong secret for a remembered identity through scrypt, and keeps the right one remembered', async () => {
    const check = new SecretCheck({ maxConcurrent: 1 });
    const hash = await hashSecret(RIGHT, { N: 1024 });
    await check.verify('pole-01', RIGHT, hash);
    expect(await check.verify('pole-01', WRONG, hash)).toBe('mismatch');
    expect(check.stats()).toMatchObject({ verified: 2, fastPath: 0 });
    expect(await check.verify('pole-01', RIGHT, hash)).toBe('match');
    expect(check.stats()).toMatchObject({ verified: 2, fastPath: 1 });
  });

  it('does not accept a remembered secret once the stored hash has changed (rotated or revoked), nor after forget', async () => {
    const check = new SecretCheck({ maxConcurrent: 1 });
    const before = await hashSecret(RIGHT, { N: 1024 });
    const rotated = await hashSecret('the-new-secret-after-rotation', { N: 1024 });
    await check.verify('pole-01', RIGHT, before);
    expect(await check.verify('pole-01', RIGHT, rotated)).toBe('mismatch'); // scrypt said no, not the memory
    expect(check.stats()).toMatchObject({ verified: 2, fastPath: 0 });
    expect(await check.verify('pole-01', RIGHT, before)).toBe('match'); // still remembered for the old hash
    expect(check.stats()).toMatchObject({ verified: 2, fastPath: 1 });
    check.forget('pole-01');
    expect(await check.verify('pole-01', RIGHT, before)).toBe('match');
    expect(check.stats()).toMatchObject({ verified: 3, fastPath: 1 });
  });

  it('forgets a verified secret after the time to live, and never remembers the unknown-user check', async () => {
    let now = 0;
    const check = new SecretCheck({ maxConcurrent: 1, cacheTtlMs: 1000 }, () => now);
    const hash = await hashSecret(RIGHT, { N: 1024 });
    await check.verify('pole-01', RIGHT, hash);
    now = 1001;
    await check.verify('pole-01', RIGHT, hash);
    expect(check.stats()).toMatchObject({ verified: 2, fastPath: 0 });
    await check.verify(undefined, RIGHT, hash);
    await check.verify(undefined, RIGHT, hash);
    expect(check.stats()).toMatchObject({ verified: 4, fastPath: 0, remembered: 1 });
  });

  it('runs at most maxConcurrent scrypts, queues up to maxQueued, and refuses the rest at once', async () => {
    const check = new SecretCheck({ maxConcurrent: 2, maxQueued: 3, cacheSize: 0 });
    const hash = await hashSecret(RIGHT, { N: 4096 });
    let mostRunning = 0;
    const sample = setInterval(() => (mostRunning = Math.max(mostRunning, check.stats().running)), 1);
    const verdicts = Array.from({ length: 10 }, (_, i) => check.verify(`d-${i}`, i % 2 ? RIGHT : WRONG, hash));
    expect(check.stats()).toMatchObject({ running: 2, queued: 3, refusedBusy: 5 });
    const results = await Promise.all(verdicts);
    clearInterval(sample);
    expect(results.filter((r) => r === 'busy')).toHaveLength(5);
    expect(results.slice(0, 5)).toEqual(['mismatch', 'match', 'mismatch', 'match', 'mismatch']);
    expect(mostRunning).toBeLessThanOrEqual(2);
    expect(check.stats()).toMatchObject({ running: 0, queued: 0, verified: 5 });
  });

  it('spends no scrypt on a login whose connection went away while it waited', async () => {
    const check = new SecretCheck({ maxConcurrent: 1 });
    const hash = await hashSecret(RIGHT, { N: 1024 });
    const first = check.verify('a', RIGHT, hash);
    const gone = check.verify('b', RIGHT, hash, () => false);
    expect(await gone).toBe('busy');
    await first;
    expect(check.stats().verified).toBe(1);
  });
});
