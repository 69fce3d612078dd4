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
  /** Retries after a failed write in 40 ms (no jitter), so tests see the refusal and its end quickly. */
  const FAST_RETRY = { initialMs: 40, maxMs: 40, random: () => 1 };

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

  it('gives the records of one group commit one durable promise, and the next group another', async () => {
    journal = await Journal.open({ dir: dir.path });
    const a = await journal.enqueue('t/a', payload(1), 1);
    const b = await journal.enqueue('t/b', payload(2), 2);
    expect(b.durable).toBe(a.durable);
    await a.durable;
    const c = await journal.enqueue('t/c', payload(3), 3);
    expect(c.durable).not.toBe(a.durable);
    await c.durable;
    expect([a.lsn, b.lsn, c.lsn]).toEqual([1, 2, 3]);
  });

  it('when an fsync fails, rejects every record of that commit and of the next, takes no more until the disk works again, and a restart finds none of them', async () => {
    journal = await Journal.open({ dir: dir.path, retry: FAST_RETRY });
    await journal.append('t/ok', payload(0), 0);
    // A failing disk cannot be had on demand here: the fault is injected into the open segment's file handle.
    const active = (journal as unknown as { active: { datasync(): Promise<void> } }).active;
    let release!: () => void;
    const failing = new Promise<void>((r) => (release = r));
    active.datasync = async () => {
      await failing;
      throw new Error('EIO: i/o error');
    };
    const first = await Promise.all([journal.enqueue('t/1', payload(1), 1), journal.enqueue('t/2', payload(2), 2)]);
    await new Promise((r) => setImmediate(r)); // the group of t/1 and t/2 is being written
    const next = await journal.enqueue('t/3', payload(3), 3);
    expect(next.durable).not.toBe(first[0].durable);
    release();
    const outcomes = await Promise.allSettled([first[0].durable, first[1].durable, next.durable]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/journal fsync to .* failed: EIO: i\/o error; not acknowledged: the devices keep these messages/);
    expect(journal.refused).toMatchObject({ reason: 'write-failed' });
    // Takes no more meanwhile: the append waits. After a failed fsync the file's pages cannot be trusted,
    // so once the journal takes messages again it writes on in a new segment (this handle keeps failing).
    const later = journal.append('t/4', payload(4), 4);
    expect(journal.stats().waitingForSpace).toBe(1);
    expect(await later).toBe(2); // the LSNs of what was not acknowledged are given back
    expect(journal.refused).toBeUndefined();
    expect(journal.stats()).toMatchObject({ failedWrites: 1, durableLsn: 2 });
    await journal.close();
    journal = await Journal.open({ dir: dir.path });
    expect((await journal.read(10)).map((r) => r.topic)).toEqual(['t/ok', 't/4']);
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
