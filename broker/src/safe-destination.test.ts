import { existsSync, mkdtempSync, readFileSync, rmSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { safeDestination } from './safe-destination.js';

type WriteCallback = (err: NodeJS.ErrnoException | null, n: number) => void;
/**
 * fs.write on the real file, except where `fault` says otherwise for this call: ENOSPC, or a write cut
 * after n bytes (a real disk cannot be filled or emptied on cue at a chosen write here).
 */
function faultyWrite(fault: (call: number) => 'ENOSPC' | number | undefined): typeof write {
  let calls = 0;
  return ((fd: number, buf: Buffer, off: number, len: number, pos: null, cb: WriteCallback) => {
    const f = fault(++calls);
    if (f === 'ENOSPC') return setImmediate(() => cb(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 0));
    write(fd, buf, off, f ?? len, pos, cb);
  }) as unknown as typeof write;
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('safe log destination', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  // /dev/full answers every write with ENOSPC: a real full disk, on demand.
  it.skipIf(!existsSync('/dev/full'))('on a full disk (/dev/full: every write ENOSPC) drops and counts, never throws or blocks, and flushSync at exit returns at once', async () => {
    const dest = safeDestination({ dest: '/dev/full', retryAfterMs: 200 });
    const log = pino({ level: 'info' }, dest);
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    const started = performance.now();
    for (let i = 0; i < 5000; i++) log.info({ device: `wm-${i}`, event: 'publish' }, 'a device line');
    const loggingMs = performance.now() - started;
    await until('the first write to fail', () => dest.stats().writeErrors > 0);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 100; i++) log.info('more');
    const flushStarted = performance.now();
    dest.flushSync();
    const flushMs = performance.now() - flushStarted;
    const s = dest.stats();
    expect(s.lastError).toMatch(/ENOSPC/);
    expect(s.droppedLines).toBeGreaterThanOrEqual(5000); // every line of the 5,000 and the 100: none could be written
    expect(s.writtenBytes).toBe(0);
    // A full disk is tried about once per pause, not once per line (sonic-boom retried forever at exit).
    expect(s.writeErrors).toBeLessThan(20);
    expect(flushMs).toBeLessThan(50);
    expect(loggingMs).toBeLessThan(2000); // 5,000 lines were queued or dropped without waiting for the disk
    process.off('uncaughtException', onError);
    expect(errors).toEqual([]);
  });

  it('once the disk takes writes again, writes on and first says in the log how many lines are missing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsunagaru-safe-dest-'));
    const file = join(dir, 'logs', 'tsunagaru.log');
    let full = true;
    const writeFn = faultyWrite(() => (full ? 'ENOSPC' : undefined));
    const dest = safeDestination({ dest: file, retryAfterMs: 50, writeFn });
    const log = pino({ level: 'info', base: null, timestamp: false }, dest);
    log.info('lost 1');
    await until('the failed write', () => dest.stats().writeErrors === 1);
    log.info('lost 2'); // waits out the pause, then fails: dropped too
    await until('the second failed write', () => dest.stats().writeErrors === 2);
    full = false;
    await new Promise((r) => setTimeout(r, 60));
    log.info('kept');
    await new Promise<void>((r) => dest.flush(() => r()));
    await until('the line to be written', () => readFileSync(file, 'utf8').includes('kept'));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { level: 40, time: expect.any(Number), event: 'log_lines_dropped', lines: 2, bytes: 2 * Buffer.byteLength('{"level":30,"msg":"lost 1"}\n'), error: 'ENOSPC: no space left on device, write', msg: expect.stringMatching(/^2 log lines \(\d+ bytes\) were dropped: the log could not be written \(ENOSPC/) },
      { level: 30, msg: 'kept' },
    ]);
    expect(dest.stats()).toMatchObject({ droppedLines: 2, writeErrors: 2 });
  });

  it('after a line torn by a partial write on a filling disk, the notice starts on a line of its own', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsunagaru-safe-dest-'));
    const file = join(dir, 'tsunagaru.log');
    // The disk fills mid-line: the first write takes 10 bytes, the next one fails, then space is back.
    const writeFn = faultyWrite((call) => (call === 1 ? 10 : call === 2 ? 'ENOSPC' : undefined));
    const dest = safeDestination({ dest: file, retryAfterMs: 20, writeFn });
    const log = pino({ level: 'info', base: null, timestamp: false }, dest);
    log.info('torn');
    await until('the failed write', () => dest.stats().writeErrors === 1);
    await new Promise((r) => setTimeout(r, 30));
    log.info('next');
    await until('the next line', () => readFileSync(file, 'utf8').includes('next'));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('{"level":3'); // what reached the disk of the torn line
    expect(lines.slice(1).map((l) => JSON.parse(l) as { msg: string }).map((l) => l.msg)).toEqual([expect.stringMatching(/^1 log line \(\d+ bytes\) was dropped/), 'next']);
  });

  it('keeps at most maxBufferBytes waiting on a disk that does not answer; the rest is dropped and counted', async () => {
    const pending: Array<() => void> = [];
    const writeFn = ((_fd: number, buf: Buffer, _o: number, _l: number, _p: null, cb: (err: null, n: number) => void) => void pending.push(() => cb(null, buf.length))) as unknown as typeof write;
    const dest = safeDestination({ dest: 1, maxBufferBytes: 64 * 1024, writeFn });
    const log = pino({ level: 'info' }, dest);
    for (let i = 0; i < 10_000; i++) log.info({ i }, 'a line of about a hundred bytes, give or take a few');
    const s = dest.stats();
    expect(s.droppedLines).toBeGreaterThan(9000);
    expect(s.droppedLines).toBeLessThan(10_000);
    for (const p of pending.splice(0)) p();
  });

  it('at exit, writes the lines queued behind a write still in flight (the "stopping" line is not lost)', () => {
    dir = mkdtempSync(join(tmpdir(), 'safe-dest-'));
    const file = join(dir, 'log.jsonl');
    // The first asynchronous write never completes before the process exits.
    const hanging = (() => undefined) as unknown as typeof write;
    const dest = safeDestination({ dest: file, writeFn: hanging });
    dest.write('{"msg":"first"}\n');
    dest.write('{"msg":"stopping"}\n');
    dest.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('{"msg":"stopping"}\n');
  });
});
