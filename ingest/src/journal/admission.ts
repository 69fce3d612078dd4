/**
 * Whether the journal takes messages right now. It stops (appends wait: no LSN, no PUBACK) in two cases,
 * and resumes by itself, without a restart:
 * - `disk-space-low`: the file system is below the free-space watermark (free-space.ts). The group already
 *   queued waits in memory, unacknowledged, and is written once space returns above the resume line.
 * - `write-failed`: a group commit failed (short write, write or fsync error). After a backoff, and once
 *   there is room above the resume line again (a disk that filled up shows as a short write), the next
 *   group tries; if the disk still fails, that group is refused as well and the backoff grows.
 */
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { Sleeper } from '../sleeper.js';
import { mib, type FreeSpace } from './free-space.js';

/** Why the journal takes no messages right now. Appends wait meanwhile; nothing is acknowledged. */
export interface Refusal {
  /** `disk-space-low`: below the free-space watermark. `write-failed`: the disk refused a write or an fsync. */
  reason: 'disk-space-low' | 'write-failed';
  /** For the operator, in their words: what happened and what happens to the devices' messages. */
  message: string;
  /** Epoch ms (server clock). */
  since: number;
  freeBytes: number | null;
  minFreeBytes: number;
}

export interface AdmissionOptions {
  /** Delays before the disk is tried again after a failed write. Default 200 ms doubling to 10 s. */
  retry?: BackoffOptions;
  /** How often free space is read while below the watermark, ms. Default 500. */
  spacePollMs?: number;
  /** Told when the journal stops taking messages (with why) and when it takes them again (null). */
  onRefusal?: (refusal: Refusal | null) => void;
}

export class Admission {
  private current: Refusal | undefined;
  /** Failed group commits in a row (the retry backoff); 0 once one succeeds. */
  private failuresInRow = 0;
  /** Pauses (retry, space polling) that close() cuts short. */
  private readonly pauses = new Sleeper();
  private closed = false;

  constructor(
    private readonly space: FreeSpace,
    private readonly o: AdmissionOptions,
    /** Wakes the appends waiting for the journal to take messages. */
    private readonly resumed: () => void,
  ) {}

  get refusal(): Refusal | undefined {
    return this.current;
  }

  /**
   * Resolves true once `bytes` fit above the watermark (refusing meanwhile), false if closed first. Below
   * it the caller's group waits here, in memory and unacknowledged.
   */
  async roomFor(bytes: number): Promise<boolean> {
    while (!(await this.space.roomFor(bytes, this.current?.reason === 'disk-space-low'))) {
      if (this.closed) return false;
      this.refuseForSpace();
      await this.pause(this.o.spacePollMs ?? 500);
    }
    if (this.current?.reason === 'disk-space-low') this.set(undefined);
    return true;
  }

  written(bytes: number): void {
    this.failuresInRow = 0;
    this.space.wrote(bytes);
  }

  /** A group commit failed: refuse, and take messages again once the disk may work (see the module comment). */
  writeFailed(err: Error): void {
    this.failuresInRow++;
    this.set({
      reason: 'write-failed',
      message: `The ingest could not write to its disk (${err.message}): new readings are not accepted; devices keep them and send them again once it works.`,
      since: Date.now(),
      freeBytes: this.space.lastFree,
      minFreeBytes: this.space.minFreeBytes,
    });
    void this.retryLater();
  }

  close(): void {
    this.closed = true;
    this.pauses.wakeAll();
  }

  private async retryLater(): Promise<void> {
    await this.pause(backoffDelay(this.failuresInRow - 1, { initialMs: 200, maxMs: 10_000, ...this.o.retry }));
    while (!this.closed && !(await this.space.roomFor(0, true))) {
      this.refuseForSpace();
      await this.pause(this.o.spacePollMs ?? 500);
    }
    if (!this.closed) this.set(undefined);
  }

  private refuseForSpace(): void {
    const free = this.space.lastFree;
    this.set({
      reason: 'disk-space-low',
      message: `The ingest's disk is almost full (${mib(free)} free, ${mib(this.space.minFreeBytes)} kept in reserve): new readings are not accepted; devices keep them and send them again once space is freed.`,
      since: this.current?.reason === 'disk-space-low' ? this.current.since : Date.now(),
      freeBytes: free,
      minFreeBytes: this.space.minFreeBytes,
    });
  }

  private set(r: Refusal | undefined): void {
    const changed = (r?.reason ?? null) !== (this.current?.reason ?? null);
    this.current = r;
    if (!r) this.resumed();
    if (changed) this.o.onRefusal?.(r ?? null);
  }

  /** Sleeps `ms`, or less if closed. */
  private pause(ms: number): Promise<void> {
    return this.closed ? Promise.resolve() : this.pauses.sleep(ms);
  }
}
