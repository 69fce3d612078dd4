/**
 * Throttles for hostile or broken clients: failed-login lockouts per (identity, source address) pair
 * and per source address, and per-device publish rate limits. Every map is bounded (oldest entry
 * evicted first), so a flood of made-up usernames or addresses costs a fixed amount of memory.
 * Clocks are injected (tests).
 */

export interface AuthThrottleOptions {
  /**
   * Failed logins naming one identity (username, else client id) from one source address within
   * `windowMs` before that pair is locked. Default 10. There is deliberately no lockout of an identity
   * everywhere: anyone could then lock a device out by naming it, and guessing a generated secret
   * (24 random bytes) from many addresses is hopeless anyway.
   */
  maxFailuresPerPair?: number;
  /** Failed logins from one source address within `windowMs` before it is locked. Default 30. */
  maxFailuresPerAddress?: number;
  /** Logins from one address being verified at once (queued or in scrypt) before more are refused. Default 16. */
  maxPendingPerAddress?: number;
  /** Window in which failures are counted, ms. Default 60000. */
  windowMs?: number;
  /** How long a locked pair or address is refused without checking its secret, ms. Default 60000. */
  lockoutMs?: number;
  /** Most pairs/addresses tracked at once; the oldest is forgotten first. Default 10000. */
  maxTrackedKeys?: number;
  /**
   * An identity that logged in successfully from an address within this many ms is not refused for
   * that address's lockout (only for its own pair's), so a fleet behind one carrier NAT is not locked
   * out by one broken or hostile neighbour. Default 24 h.
   */
  knownGoodMs?: number;
}

export const AUTH_THROTTLE_DEFAULTS: Readonly<Required<AuthThrottleOptions>> = Object.freeze({
  maxFailuresPerPair: 10,
  maxFailuresPerAddress: 30,
  maxPendingPerAddress: 16,
  windowMs: 60_000,
  lockoutMs: 60_000,
  maxTrackedKeys: 10_000,
  knownGoodMs: 24 * 3600_000,
});

interface FailureEntry {
  count: number;
  windowStart: number;
  lockedUntil: number;
}

/** Counts failures per key in fixed windows; reaching the limit locks the key for `lockoutMs`. */
class FailureCounter {
  private readonly entries = new Map<string, FailureEntry>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly lockoutMs: number,
    private readonly maxKeys: number,
  ) {}

  lockedFor(key: string, now: number): number {
    const e = this.entries.get(key);
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  /** Records a failure; true when this one locked the key. */
  fail(key: string, now: number): boolean {
    let e = this.entries.get(key);
    if (!e || now - e.windowStart > this.windowMs) {
      e = { count: 0, windowStart: now, lockedUntil: e?.lockedUntil ?? 0 };
      this.entries.delete(key);
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, e);
    }
    e.count++;
    if (e.count < this.limit) return false;
    e.lockedUntil = now + this.lockoutMs;
    e.count = 0;
    e.windowStart = now;
    return true;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  lockedCount(now: number): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.lockedUntil > now) n++;
    return n;
  }
}

export type ThrottleVerdict = { ok: true } | { ok: false; scope: 'pair' | 'address' | 'pending'; retryAfterMs: number };

/** One key per (identity, address): NUL cannot occur in an MQTT username or an IP address. */
const pairKey = (identity: string, address: string | undefined): string => `${identity}\u0000${address ?? ''}`;

/**
 * Failed-login limiter. `check` runs before any secret is verified, so a locked pair or address
 * costs no scrypt; `begin`/`end` bracket a verification to cap how many one address has in flight.
 * A client certificate never comes here: it proves who the device is without a guessable secret.
 */
export class AuthThrottle {
  private readonly options: Required<AuthThrottleOptions>;
  private readonly pairs: FailureCounter;
  private readonly addresses: FailureCounter;
  private readonly pending = new Map<string, number>();
  /** (identity, address) → last successful login (bounded like the counters). */
  private readonly knownGood = new Map<string, number>();

  constructor(options: AuthThrottleOptions = {}, private readonly now: () => number = Date.now) {
    this.options = { ...AUTH_THROTTLE_DEFAULTS, ...options };
    const { windowMs, lockoutMs, maxTrackedKeys } = this.options;
    this.pairs = new FailureCounter(this.options.maxFailuresPerPair, windowMs, lockoutMs, maxTrackedKeys);
    this.addresses = new FailureCounter(this.options.maxFailuresPerAddress, windowMs, lockoutMs, maxTrackedKeys);
  }

  check(identity: string, address: string | undefined): ThrottleVerdict {
    const t = this.now();
    const pair = pairKey(identity, address);
    const byPair = this.pairs.lockedFor(pair, t);
    if (byPair > 0) return { ok: false, scope: 'pair', retryAfterMs: byPair };
    if (address) {
      const good = (this.knownGood.get(pair) ?? -Infinity) > t - this.options.knownGoodMs;
      const byAddress = good ? 0 : this.addresses.lockedFor(address, t);
      if (byAddress > 0) return { ok: false, scope: 'address', retryAfterMs: byAddress };
      if ((this.pending.get(address) ?? 0) >= this.options.maxPendingPerAddress) return { ok: false, scope: 'pending', retryAfterMs: 1000 };
    }
    return { ok: true };
  }

  begin(address: string | undefined): void {
    if (address) this.pending.set(address, (this.pending.get(address) ?? 0) + 1);
  }

  end(address: string | undefined): void {
    if (!address) return;
    const n = (this.pending.get(address) ?? 1) - 1;
    if (n <= 0) this.pending.delete(address);
    else this.pending.set(address, n);
  }

  failed(identity: string, address: string | undefined): void {
    const t = this.now();
    this.pairs.fail(pairKey(identity, address), t);
    if (address) this.addresses.fail(address, t);
  }

  /** A correct secret clears its pair's failures (not its address's: one address may host an attacker too). */
  succeeded(identity: string, address: string | undefined): void {
    const pair = pairKey(identity, address);
    this.pairs.reset(pair);
    this.knownGood.delete(pair);
    if (this.knownGood.size >= this.options.maxTrackedKeys) this.knownGood.delete(this.knownGood.keys().next().value!);
    this.knownGood.set(pair, this.now());
  }

  stats(): { lockedPairs: number; lockedAddresses: number } {
    const t = this.now();
    return { lockedPairs: this.pairs.lockedCount(t), lockedAddresses: this.addresses.lockedCount(t) };
  }
}

export interface PublishLimitOptions {
  /** Sustained messages per second per device (all its sessions together); 0 = no limit. Default 50. */
  messagesPerSecond?: number;
  /** Messages a device may send in a burst above the sustained rate. Default 500. */
  burstMessages?: number;
  /** Sustained payload bytes per second per device; 0 = no limit. Default 256 KiB. */
  bytesPerSecond?: number;
  /** Payload bytes a device may send in a burst. Default 4 MiB (a replay of buffered batches). */
  burstBytes?: number;
  /** Devices tracked at once (a full bucket is forgotten first: forgetting it changes nothing). Default 100000. */
  maxTrackedDevices?: number;
}

export const PUBLISH_LIMIT_DEFAULTS: Readonly<Required<PublishLimitOptions>> = Object.freeze({
  messagesPerSecond: 50,
  burstMessages: 500,
  bytesPerSecond: 256 * 1024,
  burstBytes: 4 * 1024 * 1024,
  maxTrackedDevices: 100_000,
});

interface Bucket {
  messages: number;
  bytes: number;
  at: number;
}

/** Two token buckets per device (messages and bytes). A publish that would overdraw either is refused. */
export class PublishRateLimiter {
  private readonly options: Required<PublishLimitOptions>;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: PublishLimitOptions = {}, private readonly now: () => number = Date.now) {
    this.options = { ...PUBLISH_LIMIT_DEFAULTS, ...options };
  }

  /** Takes one message of `bytes` from the device's buckets; a refusal says which limit and takes nothing. */
  take(deviceId: string, bytes: number): { ok: true } | { ok: false; detail: string } {
    const o = this.options;
    if (o.messagesPerSecond <= 0 && o.bytesPerSecond <= 0) return { ok: true };
    const t = this.now();
    let b = this.buckets.get(deviceId);
    if (!b) {
      if (this.buckets.size >= o.maxTrackedDevices) this.buckets.delete(this.buckets.keys().next().value!);
      b = { messages: o.burstMessages, bytes: o.burstBytes, at: t };
      this.buckets.set(deviceId, b);
    }
    const elapsed = Math.max(0, t - b.at) / 1000;
    b.messages = Math.min(o.burstMessages, b.messages + elapsed * o.messagesPerSecond);
    b.bytes = Math.min(o.burstBytes, b.bytes + elapsed * o.bytesPerSecond);
    b.at = t;
    if (o.messagesPerSecond > 0 && b.messages < 1) return { ok: false, detail: `more than ${o.messagesPerSecond} messages/s (burst ${o.burstMessages})` };
    if (o.bytesPerSecond > 0 && b.bytes < bytes) return { ok: false, detail: `more than ${o.bytesPerSecond} payload bytes/s (burst ${o.burstBytes})` };
    b.messages -= 1;
    b.bytes -= bytes;
    return { ok: true };
  }
}
