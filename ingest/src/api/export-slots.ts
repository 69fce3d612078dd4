import { BusyError } from '../errors.js';

/**
 * How many readings exports run at once, in all and per token: each holds a DuckDB connection and memory
 * for as long as its client reads, so they are bounded (429 with Retry-After beyond, never queued).
 */
export class ExportSlots {
  private running = 0;
  private readonly byToken = new Map<string, number>();

  constructor(private readonly limits: { exportsMax: number; exportsPerToken: number }) {}

  /** A release function (call it exactly once, when the export is over however it ended), or a BusyError. */
  acquire(tokenId: string): () => void {
    const mine = this.byToken.get(tokenId) ?? 0;
    if (mine >= this.limits.exportsPerToken) throw new BusyError('INGEST_ERR_TOO_MANY_REQUESTS', `this token already has ${mine} exports running (at most ${this.limits.exportsPerToken}); wait for one to finish`, 10);
    if (this.running >= this.limits.exportsMax) throw new BusyError('INGEST_ERR_TOO_MANY_REQUESTS', `${this.running} exports are running (at most ${this.limits.exportsMax}); try again shortly`, 10);
    this.running++;
    this.byToken.set(tokenId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const left = (this.byToken.get(tokenId) ?? 1) - 1;
      if (left <= 0) this.byToken.delete(tokenId);
      else this.byToken.set(tokenId, left);
    };
  }

  get count(): number {
    return this.running;
  }
}
