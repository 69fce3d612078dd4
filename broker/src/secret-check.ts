import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { verifySecret } from './registry/secret-hash.js';

/**
 * Password verification for logins, so that a flood of wrong logins cannot take the broker's CPU
 * and thread pool away from the devices already connected:
 *
 * - **Bounded concurrency.** scrypt runs on libuv's thread pool (4 threads by default), which the
 *   embedded ingest also needs for its journal writes and fsyncs (the PUBACK waits for them). At most
 *   `maxConcurrent` verifications run at once; the rest wait in a bounded queue, and beyond it a login
 *   is refused at once with "server unavailable" (the device retries later).
 * - **A fast path for devices that logged in recently.** After a secret verifies, an HMAC of it
 *   under a key that exists only in this process's memory is remembered per identity. The same secret
 *   presented again is checked with one HMAC instead of scrypt, without waiting in the queue. The MAC
 *   covers the stored hash too, so a rotated or revoked secret no longer matches; the broker also
 *   forgets an identity whenever the registry changes it. Only secrets this process has already seen
 *   in clear are remembered, and never in clear; the key dies with the process.
 */
export interface SecretCheckOptions {
  /**
   * scrypt verifications running at once. Default: one core left for traffic and two thread-pool
   * threads left for file I/O: max(1, min(cores − 1, UV_THREADPOOL_SIZE − 2)), i.e. 1 on 2 cores.
   */
  maxConcurrent?: number;
  /** Verifications waiting for a slot; one more is refused at once (code 3). Default 64. */
  maxQueued?: number;
  /** Identities whose last verified secret is remembered (oldest forgotten first); 0 = no fast path. Default 100000. */
  cacheSize?: number;
  /** How long a verified secret is remembered, ms. Default 24 h. */
  cacheTtlMs?: number;
}

export type SecretVerdict = 'match' | 'mismatch' | 'busy';

export function defaultVerifyConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() - 1, pool - 2));
}

export const SECRET_CHECK_DEFAULTS = Object.freeze({ maxQueued: 64, cacheSize: 100_000, cacheTtlMs: 24 * 3600_000 });

interface Remembered {
  mac: Buffer;
  at: number;
}

interface Waiting {
  start: () => void;
}

export interface SecretCheckStats {
  /** Logins verified by the fast path (no scrypt). */
  fastPath: number;
  /** scrypt verifications started. */
  verified: number;
  /** Logins refused because the queue was full. */
  refusedBusy: number;
  running: number;
  queued: number;
  remembered: number;
}

export class SecretCheck {
  private readonly key = randomBytes(32);
  private readonly remembered = new Map<string, Remembered>();
  private readonly queue: Waiting[] = [];
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;
  private running = 0;
  private counts = { fastPath: 0, verified: 0, refusedBusy: 0 };

  constructor(options: SecretCheckOptions = {}, private readonly now: () => number = Date.now) {
    this.maxConcurrent = options.maxConcurrent ?? defaultVerifyConcurrency();
    this.maxQueued = options.maxQueued ?? SECRET_CHECK_DEFAULTS.maxQueued;
    this.cacheSize = options.cacheSize ?? SECRET_CHECK_DEFAULTS.cacheSize;
    this.cacheTtlMs = options.cacheTtlMs ?? SECRET_CHECK_DEFAULTS.cacheTtlMs;
  }

  /**
   * Whether `secret` matches `storedHash`. `identity` undefined: never remembered (the unknown-user
   * dummy hash). `wanted` is asked before scrypt starts: a login whose connection has gone costs nothing.
   * Rejects when the stored hash does not parse (an operator's problem, not a wrong secret).
   */
  async verify(identity: string | undefined, secret: string, storedHash: string, wanted: () => boolean = () => true): Promise<SecretVerdict> {
    const mac = identity !== undefined && this.cacheSize > 0 ? this.macOf(storedHash, secret) : undefined;
    if (mac && this.recall(identity!, mac)) {
      this.counts.fastPath++;
      return 'match';
    }
    if (!(await this.slot())) return 'busy';
    try {
      if (!wanted()) return 'busy';
      this.counts.verified++;
      const ok = await verifySecret(secret, storedHash);
      if (ok && mac) this.remember(identity!, mac);
      return ok ? 'match' : 'mismatch';
    } finally {
      this.release();
    }
  }

  /** Drops what is remembered for an identity (rotated, revoked, disabled, removed). */
  forget(identity: string): void {
    this.remembered.delete(identity);
  }

  forgetAll(): void {
    this.remembered.clear();
  }

  stats(): SecretCheckStats {
    return { ...this.counts, running: this.running, queued: this.queue.length, remembered: this.remembered.size };
  }

  private macOf(storedHash: string, secret: string): Buffer {
    return createHmac('sha256', this.key).update(storedHash).update('\0').update(secret).digest();
  }

  private recall(identity: string, mac: Buffer): boolean {
    const r = this.remembered.get(identity);
    if (!r) return false;
    if (this.now() - r.at > this.cacheTtlMs) {
      this.remembered.delete(identity);
      return false;
    }
    if (!timingSafeEqual(r.mac, mac)) return false;
    this.remember(identity, mac); // most recently used: the last to be forgotten
    return true;
  }

  private remember(identity: string, mac: Buffer): void {
    this.remembered.delete(identity);
    if (this.remembered.size >= this.cacheSize) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(identity, { mac, at: this.now() });
  }

  /** Resolves true once a verification slot is ours, false at once when the queue is full. */
  private slot(): Promise<boolean> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve(true);
    }
    if (this.queue.length >= this.maxQueued) {
      this.counts.refusedBusy++;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => this.queue.push({ start: () => resolve(true) }));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next.start(); // the slot passes straight to the next in line
    else this.running--;
  }
}
