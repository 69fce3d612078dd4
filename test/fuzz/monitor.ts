import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** Samples this process's resident memory; the peak is also read from the kernel (VmHWM) at the end. */
export class RssMonitor {
  readonly startMb = mb(process.memoryUsage().rss);
  peakMb = this.startMb;
  /** What was going on when the peak was sampled (set by the harness: phase and messages sent). */
  peakAt = 'start';
  context = 'start';
  /** RSS at progress checkpoints, to show whether memory grows with the number of messages. */
  readonly checkpoints: Array<{ sent: number; rssMb: number; heapMb: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 200) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = mb(process.memoryUsage().rss);
    if (rss > this.peakMb) {
      this.peakMb = rss;
      this.peakAt = this.context;
    }
    return rss;
  }

  checkpoint(sent: number): void {
    this.checkpoints.push({ sent, rssMb: this.sample(), heapMb: mb(process.memoryUsage().heapUsed) });
  }

  stop(): { startMb: number; peakMb: number; peakAt: string; endMb: number; kernelPeakMb: number | null } {
    clearInterval(this.timer);
    const endMb = this.sample();
    const hwm = /VmHWM:\s+(\d+) kB/.exec(safeRead('/proc/self/status'))?.[1];
    return { startMb: this.startMb, peakMb: this.peakMb, peakAt: this.peakAt, endMb, kernelPeakMb: hwm ? Math.round(Number(hwm) / 1024) : null };
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Counts uncaught exceptions and unhandled rejections while installed: a crash would have been one of these. */
export class CrashCounter {
  count = 0;
  readonly messages: string[] = [];
  private readonly onError = (err: unknown) => {
    this.count++;
    if (this.messages.length < 20) {
      this.messages.push(String((err as Error)?.stack ?? err).slice(0, 500));
      process.stderr.write(`fuzz: uncaught error: ${this.messages.at(-1)}\n`);
    }
  };

  constructor() {
    process.on('uncaughtException', this.onError);
    process.on('unhandledRejection', this.onError);
  }

  uninstall(): void {
    process.off('uncaughtException', this.onError);
    process.off('unhandledRejection', this.onError);
  }
}

/** A real pino logger at `level` that keeps only counts and the first error lines (a million warnings would not fit). */
export function countingLogger(level: pino.Level = 'error'): { logger: Logger; errors: string[]; counts: Record<number, number> } {
  const errors: string[] = [];
  const counts: Record<number, number> = {};
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const lvl = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
        counts[lvl] = (counts[lvl] ?? 0) + 1;
        if (lvl >= 50 && errors.length < 20) errors.push(line.slice(0, 600));
      }
      done();
    },
  });
  return { logger: pino({ level }, stream), errors, counts };
}
