import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { Journal } from './journal.js';
import type { ScanProblem } from './segments.js';

describe('journal', () => {
  let dir: { path: string; remove(): void };
  let journal: Journal | undefined;
  beforeEach(() => {
    dir = makeTempDir('journal');
  });
  afterEach(async () => {
    await journal?.close();
    dir.remove();
  });

  const payload = (i: number) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(100) }));

  it('makes concurrent appends durable with few fsyncs (group commit) and reads them back in order', async () => {
    journal = await Journal.open({ dir: dir.path });
    const lsns = await Promise.all(Array.from({ length: 2000 }, (_, i) => journal!.append(`t/${i}`, payload(i), 1000 + i)));
    expect(lsns).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(journal.stats().fsyncs).toBeLessThan(20);
    const first = await journal.read(1500);
    const rest = await journal.read(1500);
    expect([...first, ...rest].map((r) => [r.lsn, r.topic, JSON.parse(r.payload.toString()).i, r.receivedAt, r.replayed])).toEqual(
      Array.from({ length: 2000 }, (_, i) => [i + 1, `t/${i}`, i, 1000 + i, false]),
    );
    expect(await journal.read(10)).toEqual([]);
  });

  it('replays after a restart everything not released, and nothing released', async () => {
    journal = await Journal.open({ dir: dir.path, segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) await journal.append('t', payload(i), i);
    await journal.read(100);
    await journal.release(60);
    await journal.close();
    journal = await Journal.open({ dir: dir.path, releasedLsn: 60, segmentBytes: 4096 });
    const replayed = await journal.read(1000);
    expect(replayed.map((r) => r.lsn)).toEqual(Array.from({ length: 40 }, (_, i) => 61 + i));
    expect(replayed.every((r) => r.replayed)).toBe(true);
    expect(await journal.append('t', payload(100), 100)).toBe(101);
    expect((await journal.read(10)).map((r) => [r.lsn, r.replayed])).toEqual([[101, false]]);
  });

  it('deletes released segments and waits for space instead of dropping when full', async () => {
    journal = await Journal.open({ dir: dir.path, maxBytes: 8192, segmentBytes: 2048 });
    const appends = Array.from({ length: 120 }, (_, i) => journal!.append('t', payload(i), i));
    let settled = 0;
    for (const a of appends) void a.then(() => settled++);
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBeGreaterThan(0);
    expect(settled).toBeLessThan(120);
    expect(journal.stats().waitingForSpace).toBeGreaterThan(0);
    let read = 0;
    while (read < 120) {
      await journal.waitForData(1000);
      const batch = await journal.read(10);
      read += batch.length;
      if (batch.length) await journal.release(batch.at(-1)!.lsn);
    }
    expect(await Promise.all(appends)).toHaveLength(120);
    expect(journal.stats().bytes).toBeLessThanOrEqual(8192 + 2048 + 200);
    expect(readdirSync(dir.path).length).toBeLessThanOrEqual(3);
  });

  it('cuts a torn tail left by a crash and keeps every whole record', async () => {
    journal = await Journal.open({ dir: dir.path });
    for (let i = 0; i < 10; i++) await journal.append('t', payload(i), i);
    await journal.close();
    journal = undefined;
    const [seg] = readdirSync(dir.path);
    appendFileSync(join(dir.path, seg!), Buffer.from([200, 0, 0, 0, 1, 2, 3])); // half a record
    const problems: ScanProblem[] = [];
    journal = await Journal.open({ dir: dir.path, onProblem: (p) => problems.push(p) });
    expect(problems).toMatchObject([{ bytes: 7 }]);
    expect((await journal.read(100)).map((r) => r.lsn)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(await journal.append('t', payload(10), 10)).toBe(11);
    expect((await journal.read(100)).map((r) => r.lsn)).toEqual([11]);
  });
});
