/**
 * The journal's free-space watermark (JOURNAL_MIN_FREE_MB): the journal stops taking messages while the
 * file system that holds it has less than `minFreeBytes` free, so it stops before the disk is full and
 * the store, the alert saves and the log keep room to work (and to drain the journal, which frees space).
 *
 * statfs is read at most once a second while far above the line, and before every group commit once the
 * estimate (last reading minus what the journal wrote since) comes near it: other writers (the store, the
 * log) use the same disk, and the watermark is their reserve for the time between two readings.
 */
import { statfs } from 'node:fs/promises';

export type FreeBytesProbe = (dir: string) => Promise<number>;

/** Free bytes for an unprivileged writer (`bavail`: blocks not reserved for root). */
export const statfsFreeBytes: FreeBytesProbe = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

/** Near the line, below this much above it, every group commit reads statfs again. */
const NEAR_BYTES = 8 * 1024 * 1024;
const MAX_AGE_MS = 1000;

export class FreeSpace {
  private free: number | null = null;
  private checkedAt = -Infinity;
  private writtenSince = 0;

  constructor(
    private readonly dir: string,
    readonly minFreeBytes: number,
    private readonly probe: FreeBytesProbe = statfsFreeBytes,
  ) {}

  /**
   * Once refused, taking messages resumes only this far above the watermark, so a disk hovering at the
   * line does not flip the journal (and its alert) on and off with every message. At least 1 MiB, so a
   * journal without a watermark still waits for real room after a disk-full write failure.
   */
  get resumeFreeBytes(): number {
    return this.minFreeBytes + Math.max(1024 * 1024, Math.round(this.minFreeBytes / 10));
  }

  /** Free bytes at the last reading (null: never read, or statfs failed). */
  get lastFree(): number | null {
    return this.free;
  }

  /**
   * Whether `bytes` more can be written and still leave the watermark free (`resuming`: the higher line
   * of resumeFreeBytes). With no watermark, always true. A failing statfs does not stop the journal:
   * a write that then fails for want of space is caught as a failed write.
   */
  async roomFor(bytes: number, resuming = false): Promise<boolean> {
    const line = (resuming ? this.resumeFreeBytes : this.minFreeBytes) + bytes;
    if (this.minFreeBytes <= 0 && !resuming) return true;
    const estimate = this.free === null ? null : this.free - this.writtenSince;
    if (estimate === null || estimate < line + NEAR_BYTES || performance.now() - this.checkedAt > MAX_AGE_MS) await this.read();
    return this.free === null || this.free - this.writtenSince >= line;
  }

  /** The journal wrote `bytes` (the estimate between two readings). */
  wrote(bytes: number): void {
    this.writtenSince += bytes;
  }

  private async read(): Promise<void> {
    try {
      this.free = await this.probe(this.dir);
    } catch {
      this.free = null;
    }
    this.checkedAt = performance.now();
    this.writtenSince = 0;
  }
}

export const mib = (bytes: number | null) => (bytes === null ? 'unknown' : `${(bytes / (1024 * 1024)).toFixed(1)} MB`);
