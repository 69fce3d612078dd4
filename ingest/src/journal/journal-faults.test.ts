/**
 * The journal on a disk that fills up or fails. A short write cannot be had on demand from a real disk at
 * a chosen byte (test/fault-disk-full.test.ts fills a real tmpfs), so here the fault is injected into the
 * segment files' handles: everything else (files, fsync, truncation, reopen) is real.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { Journal, type Refusal } from './journal.js';
import type { ScanProblem } from './segments.js';

type WriteFault = 'short' | 'ENOSPC' | 'EIO' | undefined;

/** Segment files whose writev fails as a real disk does: `short` writes half and says so, without an error (libuv after ENOSPC). */
function faultyFiles() {
  const state: { writev: WriteFault; opened: number } = { writev: undefined, opened: 0 };
  const openFile = async (path: string, flags: string): Promise<FileHandle> => {
    const fh = await open(path, flags);
    state.opened++;
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'writev') {
          return async (bufs: Buffer[]) => {
            const fault = state.writev;
            if (fault === 'short') {
              const all = Buffer.concat(bufs);
              return target.writev([all.subarray(0, Math.floor(all.length / 2))]);
            }
            if (fault) throw Object.assign(new Error(`${fault}: ${fault === 'ENOSPC' ? 'no space left on device' : 'i/o error'}, write`), { code: fault });
            return target.writev(bufs);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { state, openFile };
}

const MiB = 1024 * 1024;
const payload = (i: number) => Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(100) }));
const FAST_RETRY = { initialMs: 40, maxMs: 40, random: () => 1 };
const settledWithin = async (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), ms))]);

describe('journal on a full or failing disk', () => {
  let dir: { path: string; remove(): void };
  let journal: Journal | undefined;
  beforeEach(() => {
    dir = makeTempDir('journal-faults');
  });
  afterEach(async () => {
    await journal?.close();
    dir.remove();
  });

  const segmentBytes = async () => {
    let n = 0;
    for (const f of readdirSync(dir.path)) n += (await stat(join(dir.path, f))).size;
    return n;
  };

  /** Restart: what a new process finds, and whether it had to cut anything. */
  const reopen = async () => {
    await journal!.close();
    const problems: ScanProblem[] = [];
    journal = await Journal.open({ dir: dir.path, onProblem: (p) => problems.push(p) });
    return { topics: (await journal.read(100)).map((r) => r.topic), problems };
  };

  for (const fault of ['short', 'ENOSPC', 'EIO'] as const) {
    it(`a ${fault === 'short' ? 'short write (no error raised)' : `${fault} on write`} acknowledges nothing of the group, cuts it from the file, refuses until the disk works, then resumes by itself`, async () => {
      const files = faultyFiles();
      const refusals: Array<Refusal | null> = [];
      journal = await Journal.open({ dir: dir.path, openFile: files.openFile, retry: FAST_RETRY, onRefusal: (r) => refusals.push(r) });
      await journal.append('t/ok', payload(0), 0);
      const sizeBefore = await segmentBytes();

      files.state.writev = fault;
      const group = await Promise.all([journal.enqueue('t/a', payload(1), 1), journal.enqueue('t/b', payload(2), 2)]);
      const outcomes = await Promise.allSettled(group.map((g) => g.durable));
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(fault === 'short' ? /short write: \d+ of \d+ bytes/ : new RegExp(fault));
      expect(await segmentBytes()).toBe(sizeBefore); // what reached the file was cut
      expect(journal.refused).toMatchObject({ reason: 'write-failed' });
      expect(journal.refused!.message).toMatch(/could not write to its disk.*devices keep them and send them again/);

      // While it refuses, appends wait (no LSN, no PUBACK); with the disk still failing, the next try fails too.
      const waiting = journal.append('t/c', payload(3), 3);
      expect(await settledWithin(waiting, 10)).toBe(false);
      expect(await waiting.then(() => 'durable', () => 'refused')).toBe('refused');
      expect(journal.stats().failedWrites).toBe(2);

      files.state.writev = undefined; // the disk works again: no restart
      expect(await journal.append('t/d', payload(4), 4)).toBe(2);
      expect(journal.refused).toBeUndefined();
      expect(refusals.map((r) => r?.reason ?? null)).toEqual(['write-failed', null, 'write-failed', null]);
      const { topics, problems } = await reopen();
      expect(topics).toEqual(['t/ok', 't/d']);
      expect(problems).toEqual([]); // nothing torn: the failed group never stayed in the file
    });
  }

  it('below the free-space watermark takes nothing more, holds the queued group unacknowledged, and resumes by itself above it', async () => {
    let free = 12 * MiB;
    const refusals: Array<Refusal | null> = [];
    journal = await Journal.open({ dir: dir.path, minFreeBytes: 10 * MiB, freeBytes: async () => free, spacePollMs: 10, onRefusal: (r) => refusals.push(r) });
    await journal.append('t/ok', payload(0), 0);

    free = 9 * MiB;
    const held = journal.append('t/held', payload(1), 1);
    expect(await settledWithin(held, 50)).toBe(false);
    expect(journal.refused).toMatchObject({ reason: 'disk-space-low', freeBytes: 9 * MiB, minFreeBytes: 10 * MiB });
    expect(journal.refused!.message).toMatch(/disk is almost full \(9\.0 MB free, 10\.0 MB kept in reserve\): new readings are not accepted/);
    const waiting = journal.append('t/after', payload(2), 2);
    expect(journal.stats().waitingForSpace).toBe(1);

    free = 10.5 * MiB; // above the line but not by the resume margin (1 MiB): a hovering disk does not flap
    expect(await settledWithin(held, 50)).toBe(false);
    free = 12 * MiB;
    expect(await held).toBe(2);
    expect(await waiting).toBe(3);
    expect(journal.refused).toBeUndefined();
    expect(refusals.map((r) => r?.reason ?? null)).toEqual(['disk-space-low', null]);
    expect(journal.stats()).toMatchObject({ failedWrites: 0, freeBytes: 12 * MiB, minFreeBytes: 10 * MiB });
    expect((await reopen()).topics).toEqual(['t/ok', 't/held', 't/after']);
  });

  it('after a write failed on a full disk, waits for room before it takes messages again', async () => {
    const files = faultyFiles();
    let free = 0;
    journal = await Journal.open({ dir: dir.path, openFile: files.openFile, freeBytes: async () => free, retry: FAST_RETRY, spacePollMs: 10 });
    files.state.writev = 'ENOSPC';
    await expect(journal.append('t/a', payload(1), 1)).rejects.toThrow(/ENOSPC/);
    files.state.writev = undefined;
    const next = journal.append('t/b', payload(2), 2);
    expect(await settledWithin(next, 150)).toBe(false); // the backoff is over, but the disk is still full
    expect(journal.refused).toMatchObject({ reason: 'disk-space-low', freeBytes: 0 });
    free = 2 * MiB;
    expect(await next).toBe(1);
  });

  it('closing while it waits for space rejects what waits (nothing acknowledged) and closes promptly', async () => {
    let free = 1 * MiB;
    journal = await Journal.open({ dir: dir.path, minFreeBytes: 10 * MiB, freeBytes: async () => free, spacePollMs: 60_000 });
    const held = journal.append('t/held', payload(1), 1);
    await new Promise((r) => setTimeout(r, 20));
    const waiting = journal.append('t/after', payload(2), 2);
    const outcomes = [held, waiting].map((p) => p.then(() => 'durable', (e: Error) => e.message));
    const started = performance.now();
    await journal.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await outcomes[0]).toMatch(/closed while waiting for disk space/);
    expect(await outcomes[1]).toMatch(/closed/);
    free = 100 * MiB;
    journal = await Journal.open({ dir: dir.path });
    expect(await journal.read(10)).toEqual([]);
  });

  it('opens without creating a segment file (a full disk cannot stop the start) and starts one with the first write', async () => {
    const files = faultyFiles();
    journal = await Journal.open({ dir: dir.path, openFile: files.openFile });
    expect(readdirSync(dir.path)).toEqual([]);
    expect(await journal.append('t/1', payload(1), 1)).toBe(1);
    expect(readdirSync(dir.path)).toHaveLength(1);
  });
});
