/**
 * A pino destination that never blocks and never crashes the process when its file cannot be written (a
 * full disk, a failing one, a pipe nobody reads). Lines it cannot write are dropped and counted, and once
 * writing works again the log says how many are missing.
 *
 * Why not pino.destination (sonic-boom 4): on ENOSPC it emits 'error', which nobody handles, so the
 * process dies, and its flushSync (run at exit, and by pino on a sync destination) retries a failed
 * write every 100 ms, forever, blocking the thread (reproduced on a full 40 MB tmpfs: the process froze at
 * exit, then crashed). Here:
 * - every write is asynchronous (fs.write), one at a time, with a bounded buffer: past `maxBufferBytes`
 *   new lines are dropped (counted), so a slow or dead disk costs neither memory nor the event loop;
 * - a failed write drops that chunk (counted) and pauses writing for `retryAfterMs`, so a full disk is
 *   tried about once a second, not once per line; EAGAIN (a pipe that is full) keeps the chunk and waits;
 * - flushSync (at exit) writes what is waiting, giving up at the first error; a full pipe (EAGAIN) is waited
 *   for at most a second in all, so the last lines (the "stopping" line) reach a slow reader;
 * - no 'error' event, ever.
 */
import { mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BrokerError } from './errors.js';

export interface SafeDestinationOptions {
  /** A file path (appended to; its directory is created) or a file descriptor (1 stdout, 2 stderr). */
  dest: string | number;
  /** Bytes waiting to be written before new lines are dropped. Default 4 MiB. */
  maxBufferBytes?: number;
  /** After a failed write, how long before the next attempt, ms. Default 1000. */
  retryAfterMs?: number;
  /** The write call; tests inject a failing one. Default fs.write. */
  writeFn?: typeof write;
}

export interface SafeDestinationStats {
  writtenBytes: number;
  droppedLines: number;
  droppedBytes: number;
  writeErrors: number;
  /** The last write error (e.g. "ENOSPC: no space left on device, write"), null if none. */
  lastError: string | null;
}

/** One write at most; larger queues go out in several. */
const CHUNK_BYTES = 64 * 1024;
const PIPE_FULL_WAIT_MS = 50;
/** At exit, how long in all to wait for a full pipe before dropping the rest. */
const FLUSH_SYNC_PIPE_WAIT_MS = 1000;

export class SafeDestination {
  private readonly fd: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The last write stopped inside a line (a partial write, then a failure): the next starts a new one. */
  private torn = false;
  /** Dropped since the last notice written to the log. */
  private unreported = { lines: 0, bytes: 0 };
  private flushWaiters: Array<() => void> = [];
  private readonly s: SafeDestinationStats = { writtenBytes: 0, droppedLines: 0, droppedBytes: 0, writeErrors: 0, lastError: null };
  private readonly maxBufferBytes: number;
  private readonly retryAfterMs: number;
  private readonly writeFn: typeof write;

  constructor(o: SafeDestinationOptions) {
    if (typeof o.dest === 'number') this.fd = o.dest;
    else {
      mkdirSync(dirname(o.dest), { recursive: true });
      this.fd = openSync(o.dest, 'a');
    }
    this.maxBufferBytes = o.maxBufferBytes ?? 4 * 1024 * 1024;
    this.retryAfterMs = o.retryAfterMs ?? 1000;
    this.writeFn = o.writeFn ?? write;
    // At exit the event loop is gone: one synchronous attempt at what is still waiting.
    process.once('exit', () => this.flushSync());
  }

  /** pino calls this with one serialised line. Always true: pino must never wait for the disk. */
  write(line: string): boolean {
    const len = Buffer.byteLength(line);
    if (this.queuedBytes + len > this.maxBufferBytes) {
      this.drop(1, len);
      return true;
    }
    this.queue.push(Buffer.from(line));
    this.queuedBytes += len;
    this.schedule();
    return true;
  }

  stats(): SafeDestinationStats {
    return { ...this.s };
  }

  /** Calls back once what is queued now is written or dropped (never waits on a paused disk for long). */
  flush(cb: (err?: Error) => void = () => undefined): void {
    // Nothing waiting, or the disk failed a moment ago: shutting down must not wait for it.
    if ((this.queuedBytes === 0 || this.pausedUntil > Date.now()) && !this.writing) return cb();
    this.flushWaiters.push(cb);
    this.schedule();
  }

  /**
   * What is waiting, written synchronously (at exit the event loop is gone); stops at the first failure
   * (dropped, counted). A write still in flight keeps its own chunk; the rest of the queue is written here.
   */
  flushSync(): void {
    const deadline = Date.now() + FLUSH_SYNC_PIPE_WAIT_MS;
    while (this.queue.length > 0) {
      let chunk = this.take();
      try {
        while (chunk.length > 0) {
          let n: number;
          try {
            n = writeSync(this.fd, chunk);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            // A full pipe: its reader is slow, not gone; wait a moment, within the deadline.
            if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && Date.now() < deadline) {
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
              continue;
            }
            throw err;
          }
          if (n === 0) throw new BrokerError('BROKER_ERR_LOG_WRITE', `short write: 0 of ${chunk.length} bytes`);
          this.s.writtenBytes += n;
          chunk = chunk.subarray(n);
        }
      } catch (err) {
        this.failed(chunk, err as Error);
        this.drop(this.queue.reduce((n, b) => n + lines(b), 0), this.queuedBytes);
        this.queue = [];
        this.queuedBytes = 0;
        return;
      }
    }
  }

  end(): void {
    this.flush();
  }

  private schedule(): void {
    if (this.writing || this.timer || this.queue.length === 0) return;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref();
      return;
    }
    this.writeNext();
  }

  /** The next chunk: up to CHUNK_BYTES of whole lines (a single longer line goes alone). */
  private take(): Buffer {
    let n = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || n + this.queue[count]!.length <= CHUNK_BYTES)) n += this.queue[count++]!.length;
    const parts = this.queue.splice(0, count);
    this.queuedBytes -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  private writeNext(): void {
    this.writing = true;
    // Lines were dropped and writing may work again: say so first, in the log itself.
    const reported = this.unreported.lines > 0 ? { ...this.unreported } : undefined;
    const notice = reported ? this.notice(reported, this.torn) : undefined;
    const chunk = notice ? Buffer.concat([notice, this.take()]) : this.take();
    const attempt = (buf: Buffer) => {
      this.writeFn(this.fd, buf, 0, buf.length, null, (err, n) => {
        if (err && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) {
          // A full pipe: the reader is slow, not gone. Keep the chunk, try again shortly (bounded by the buffer).
          this.queue.unshift(buf);
          this.queuedBytes += buf.length;
          return this.done(PIPE_FULL_WAIT_MS);
        }
        if (err || n === 0) {
          // The notice is not a log line of its own: it is written again, with the new count, next time.
          this.failed(buf, err ?? new BrokerError('BROKER_ERR_LOG_WRITE', 'write returned 0 bytes'), notice && buf === chunk ? notice.length : 0);
          return this.done(this.retryAfterMs);
        }
        this.s.writtenBytes += n;
        this.torn = buf[n - 1] !== 10;
        if (n < buf.length) return attempt(buf.subarray(n));
        if (reported) {
          this.unreported.lines -= reported.lines;
          this.unreported.bytes -= reported.bytes;
        }
        this.done(0);
      });
    };
    attempt(chunk);
  }

  private done(pauseMs: number): void {
    this.writing = false;
    if (pauseMs > 0) this.pausedUntil = Date.now() + pauseMs;
    if (this.queue.length === 0 || pauseMs > 0) {
      const waiters = this.flushWaiters.splice(0);
      for (const w of waiters) w();
    }
    this.schedule();
  }

  /** `noticeBytes`: the chunk opens with a notice of that length, which is not a log line of its own. */
  private failed(chunk: Buffer, err: Error, noticeBytes = 0): void {
    this.s.writeErrors++;
    this.s.lastError = err.message;
    this.drop(lines(chunk.subarray(noticeBytes)), chunk.length - noticeBytes);
  }

  private drop(lineCount: number, bytes: number): void {
    this.s.droppedLines += lineCount;
    this.s.droppedBytes += bytes;
    this.unreported.lines += lineCount;
    this.unreported.bytes += bytes;
  }

  /** A pino-shaped warning (level 40) saying what the log is missing, written before the next lines. */
  private notice({ lines: n, bytes }: { lines: number; bytes: number }, torn: boolean): Buffer {
    return Buffer.from(
      `${torn ? '\n' : ''}${JSON.stringify({ level: 40, time: Date.now(), event: 'log_lines_dropped', lines: n, bytes, error: this.s.lastError, msg: `${n} log ${n === 1 ? 'line' : 'lines'} (${bytes} bytes) ${n === 1 ? 'was' : 'were'} dropped: the log could not be written (${this.s.lastError})` })}\n`,
    );
  }
}

function lines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return Math.max(1, n);
}

/** A destination for pino(options, destination) or pino.multistream. */
export function safeDestination(o: SafeDestinationOptions): SafeDestination {
  return new SafeDestination(o);
}
