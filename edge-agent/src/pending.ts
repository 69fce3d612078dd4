/**
 * Publishes waiting for their PUBACK. MQTT.js keeps QoS 1 messages across reconnects but never settles
 * them when the client is ended, so the session tracks them itself: a stop settles every one of them.
 */
export class PendingPublishes {
  private readonly entries = new Set<{ reject: (err: Error) => void; done: Promise<void> }>();

  get size(): number {
    return this.entries.size;
  }

  /** Settles with `sent`; rejects with `mapError(err)` on failure, or with the error given to rejectAll(). */
  track(sent: Promise<unknown>, mapError: (err: unknown) => Error): Promise<void> {
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      reject = rej;
      sent.then(
        () => res(),
        (err: unknown) => rej(mapError(err)),
      );
    });
    const entry = { reject, done };
    this.entries.add(entry);
    const forget = (): void => {
      this.entries.delete(entry);
    };
    done.then(forget, forget);
    return done;
  }

  /** Resolves when every message tracked so far has settled (either way). */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.entries].map((e) => e.done));
  }

  rejectAll(err: Error): void {
    for (const entry of this.entries) entry.reject(err);
    this.entries.clear();
  }
}

/** Waits for `promise` at most `ms`; true if it settled successfully in time. Never rejects. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
