/**
 * Token buckets for messages and bytes per second, so the agent never trips the broker's per-device
 * publish limits (our broker: 50 messages/s and 256 KiB/s by default, bursts of 500 and 4 MiB). A
 * replay after a long outage is paced instead of being cut off mid-way. A rate of 0 disables that bucket.
 */
export class RateLimiter {
  private messages: number;
  private bytes: number;
  private last: number;

  constructor(
    private readonly o: { messagesPerSec: number; bytesPerSec: number; burstMessages?: number; burstBytes?: number },
    private readonly clock: () => number = Date.now,
  ) {
    this.messages = this.burstMessages;
    this.bytes = this.burstBytes;
    this.last = clock();
  }

  private get burstMessages(): number {
    return this.o.burstMessages ?? Math.max(1, this.o.messagesPerSec);
  }

  private get burstBytes(): number {
    return this.o.burstBytes ?? Math.max(64 * 1024, this.o.bytesPerSec);
  }

  /** Ms to wait before a message of `size` bytes may go; 0 means now, and the tokens are taken. */
  reserve(size: number): number {
    const now = this.clock();
    const dt = (now - this.last) / 1000;
    this.last = now;
    const { messagesPerSec: mps, bytesPerSec: bps } = this.o;
    if (mps > 0) this.messages = Math.min(this.burstMessages, this.messages + dt * mps);
    if (bps > 0) this.bytes = Math.min(this.burstBytes, this.bytes + dt * bps);
    const needM = mps > 0 && this.messages < 1 ? ((1 - this.messages) / mps) * 1000 : 0;
    const needB = bps > 0 && this.bytes < size ? ((Math.min(size, this.burstBytes) - this.bytes) / bps) * 1000 : 0;
    const wait = Math.ceil(Math.max(needM, needB));
    if (wait > 0) return wait;
    if (mps > 0) this.messages -= 1;
    if (bps > 0) this.bytes -= size;
    return 0;
  }
}
