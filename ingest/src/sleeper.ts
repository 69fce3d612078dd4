/**
 * Sleeps that the owner can cut short all at once (on close), so a retry loop waiting out a backoff ends
 * promptly instead of holding a shutdown for the rest of its delay.
 */
export class Sleeper {
  private readonly wakers = new Set<() => void>();

  /** Resolves after `ms`, or at wakeAll(), whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Ends every sleep under way now. */
  wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
