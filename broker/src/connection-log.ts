import type { Logger } from 'pino';

/**
 * The broker's log lines about connections (connected, disconnected, denied, protocol errors) are
 * written on behalf of whoever connects, so whoever connects must not decide how much is written:
 * one device reconnecting with a 65 KB client id wrote 140 MB in 20 s. Every such line goes through
 * here: strings cut at MAX_FIELD_CHARS, then a budget of lines per source address and one for all
 * addresses together (token buckets). Lines over budget are dropped and counted; a summary line says
 * how many, at most once per SUMMARY_INTERVAL_MS, so an operator still sees that something happened.
 * Warnings and errors (denials) come first: info and debug lines may only use the upper half of a
 * budget, so chatter about connections never crowds out the line saying an address is locked out.
 */
export interface ConnectionLogOptions {
  /** Lines about one source address per minute, which is also its burst; 0 = no per-address limit. Default 60. */
  linesPerAddressPerMinute?: number;
  /** Lines about all connections per second (burst: 10 s worth); 0 = no overall limit. Default 100. */
  linesPerSecond?: number;
  /** Addresses tracked at once (the oldest is forgotten first; the overall limit still holds). Default 10000. */
  maxTrackedAddresses?: number;
}

export const CONNECTION_LOG_DEFAULTS: Readonly<Required<ConnectionLogOptions>> = Object.freeze({
  linesPerAddressPerMinute: 60,
  linesPerSecond: 100,
  maxTrackedAddresses: 10_000,
});

/** Caps what an attacker-supplied string (client id, username, topic, error text) adds to a line. */
export const MAX_FIELD_CHARS = 256;
const SUMMARY_INTERVAL_MS = 10_000;
const TOP_ADDRESSES = 5;

export type ConnectionLogLevel = 'debug' | 'info' | 'warn' | 'error';

export function clip(value: string | undefined): string | undefined {
  return value !== undefined && value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}…` : value;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class ConnectionLog {
  private readonly options: Required<ConnectionLogOptions> | undefined;
  private readonly perAddress = new Map<string, Bucket>();
  private readonly overall: Bucket;
  /** Dropped since the last summary, by address ('' = unknown). */
  private readonly droppedSince = new Map<string, number>();
  private droppedTotal = 0;
  private summary: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    options: ConnectionLogOptions | false = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = options === false ? undefined : { ...CONNECTION_LOG_DEFAULTS, ...options };
    this.overall = { tokens: this.overallBurst(), at: now() };
  }

  /** Logs one line about a connection from `address`, or drops and counts it when over budget. */
  write(level: ConnectionLogLevel, address: string | undefined, fields: Record<string, unknown>, msg: string): void {
    if (!this.logger.isLevelEnabled(level)) return; // a line nobody would see costs no budget
    if (!this.admit(address, level === 'warn' || level === 'error' ? 0 : 0.5)) return this.drop(address);
    const clipped: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clipped[k] = typeof v === 'string' ? clip(v) : v;
    this.logger[level](clipped, clip(msg));
  }

  /** Lines dropped since start. */
  dropped(): number {
    return this.droppedTotal;
  }

  /** Writes the pending summary now and stops its timer. */
  close(): void {
    if (this.summary) this.writeSummary();
  }

  /** Takes a line from the budgets unless that would leave less than `reserve` (a fraction) of either. */
  private admit(address: string | undefined, reserve: number): boolean {
    const o = this.options;
    if (!o) return true;
    const t = this.now();
    let bucket: Bucket | undefined;
    if (o.linesPerAddressPerMinute > 0 && address !== undefined) {
      bucket = this.perAddress.get(address);
      if (!bucket) {
        if (this.perAddress.size >= o.maxTrackedAddresses) this.perAddress.delete(this.perAddress.keys().next().value!);
        bucket = { tokens: o.linesPerAddressPerMinute, at: t };
        this.perAddress.set(address, bucket);
      }
      refill(bucket, t, o.linesPerAddressPerMinute / 60_000, o.linesPerAddressPerMinute);
      if (bucket.tokens - 1 < reserve * o.linesPerAddressPerMinute) return false;
    }
    if (o.linesPerSecond > 0) {
      refill(this.overall, t, o.linesPerSecond / 1000, this.overallBurst());
      if (this.overall.tokens - 1 < reserve * this.overallBurst()) return false;
      this.overall.tokens -= 1;
    }
    if (bucket) bucket.tokens -= 1;
    return true;
  }

  private overallBurst(): number {
    return (this.options?.linesPerSecond ?? 0) * 10;
  }

  private drop(address: string | undefined): void {
    this.droppedTotal++;
    const key = address ?? '';
    if (this.droppedSince.has(key) || this.droppedSince.size < (this.options?.maxTrackedAddresses ?? 0)) this.droppedSince.set(key, (this.droppedSince.get(key) ?? 0) + 1);
    if (!this.summary) {
      this.summary = setTimeout(() => this.writeSummary(), SUMMARY_INTERVAL_MS);
      this.summary.unref();
    }
  }

  private writeSummary(): void {
    clearTimeout(this.summary);
    this.summary = undefined;
    const byAddress = [...this.droppedSince.entries()].sort((a, b) => b[1] - a[1]);
    const dropped = byAddress.reduce((n, [, d]) => n + d, 0);
    this.droppedSince.clear();
    this.logger.warn(
      {
        event: 'mqtt_log_dropped',
        dropped,
        addresses: byAddress.length,
        top: byAddress.slice(0, TOP_ADDRESSES).map(([address, n]) => ({ remoteAddress: address || undefined, dropped: n })),
        droppedSinceStart: this.droppedTotal,
      },
      `${dropped} connection log lines dropped in the last ${SUMMARY_INTERVAL_MS / 1000} s (over the per-address or overall log budget)`,
    );
  }
}

function refill(bucket: Bucket, t: number, perMs: number, capacity: number): void {
  bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, t - bucket.at) * perMs);
  bucket.at = t;
}
