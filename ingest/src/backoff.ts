export interface BackoffOptions {
  /** First delay in ms. Default 200. */
  initialMs?: number;
  /** Largest delay in ms. Default 30,000. */
  maxMs?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

/** "Full jitter" exponential backoff: spreads retries of many clients so a recovering store isn't stampeded. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 200;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (options.random ?? Math.random)() * (ceiling / 2));
}
