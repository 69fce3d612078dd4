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

/**
 * Resolves when `register`'s waker is called (something arrived, or a close) or after `timeoutMs`,
 * whichever comes first: a reader's "wait for data" (journal/reader.ts, drain/store-queue.ts).
 */
export function wakeOrTimeout(timeoutMs: number, register: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      resolve();
    }
    register(done);
  });
}
