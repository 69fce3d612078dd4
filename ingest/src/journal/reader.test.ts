import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { Journal } from './journal.js';

describe('journal readers', () => {
  let dir: { path: string; remove(): void };
  let journal: Journal;
  beforeEach(async () => {
    dir = makeTempDir('journal-reader');
    journal = await Journal.open({ dir: dir.path, segmentBytes: 2048, maxBytes: 1024 * 1024 });
  });
  afterEach(async () => {
    await journal.close();
    dir.remove();
  });

  const payload = (i: number) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(100) }));
  const lsns = (records: ReadonlyArray<{ lsn: number }>) => records.map((r) => r.lsn);

  it('reads the same records again from another place, up to a given LSN, across segments', async () => {
    for (let i = 0; i < 60; i++) await journal.append('t', payload(i), i);
    expect(readdirSync(dir.path).length).toBeGreaterThan(2);
    expect(lsns(await journal.read(60))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const again = journal.openReader(20);
    expect(lsns(await again.read(100, undefined, 25))).toEqual([21, 22, 23, 24, 25]);
    expect(again.position).toBe(25);
    expect(lsns(await again.read(3))).toEqual([26, 27, 28]);
    // The main reader is not moved by another one.
    expect(await journal.read(10)).toEqual([]);
  });

  it('keeps the segments a reader has not passed, and deletes them once it has', async () => {
    for (let i = 0; i < 60; i++) await journal.append('t', payload(i), i);
    await journal.read(60);
    const behind = journal.openReader(0);
    const segments = readdirSync(dir.path).length;
    await journal.release(30);
    expect(readdirSync(dir.path).length).toBe(segments);
    // Opened before the release, it still reads everything after its own place.
    expect(lsns(await behind.read(100, undefined, 40))[0]).toBe(1);
    await journal.release(40);
    expect(readdirSync(dir.path).length).toBeLessThan(segments);
    journal.closeReader(behind);
    // Opened on released records, a reader starts after the released LSN.
    const late = journal.openReader(10);
    expect(lsns(await late.read(2))).toEqual([41, 42]);
  });
});
