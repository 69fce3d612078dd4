/**
 * A stream between MQTT.js and its socket that holds each outgoing PUBACK until the message it
 * acknowledges is durable in the journal.
 *
 * Why: MQTT.js (5.x, `build/lib/client.js` work loop and `handlers/publish.js`) handles incoming
 * PUBLISHes strictly one at a time and sends the QoS 1 PUBACK as soon as `handleMessage` calls back; on
 * MQTT 5 `customHandleAcks` sits in the same sequential path. Waiting for an fsync inside handleMessage
 * would mean one fsync per message. Instead handleMessage calls back as soon as the message is queued in
 * the journal, and this gate lets the PUBACK bytes reach the broker only after the group commit that
 * covers the message. Many messages are in flight and share one fsync, on MQTT 3.1.1 and 5 alike.
 * PUBACKs leave in the order their PUBLISHes arrived [MQTT-4.6.0-2]; other packets queue behind a held
 * PUBACK so nothing overtakes. If a commit fails, the connection is cut: no PUBACK, the broker redelivers.
 *
 * The gate reads only what MQTT 3.1.1 and 5 share: the fixed header (type, variable-length "remaining
 * length") and the packet id that opens a PUBACK's variable header. An MQTT 5 PUBACK may add a reason code
 * and properties after the id [MQTT 5 §3.4.2]; they travel unchanged with the held packet.
 */
import { Duplex } from 'node:stream';
import { IngestError } from '../errors.js';

const PUBACK = 4;

interface Outgoing {
  buf: Buffer;
  hold?: { settled: boolean; ok: boolean; promise: Promise<unknown> };
}

export class PubackGate extends Duplex {
  private readonly holds = new Map<number, Outgoing['hold']>();
  private lastHold: Outgoing['hold'];
  /** Packets not yet written to the socket, from `head` on (an index, not shift(): thousands wait at once). */
  private queue: Outgoing[] = [];
  private head = 0;
  private pumpScheduled = false;
  private pending: Buffer = Buffer.alloc(0);
  private pumping = false;
  private finish: (() => void) | undefined;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on('data', (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /**
   * The PUBACK for `messageId` waits until `durable` resolves; if it rejects, the connection is cut.
   * The journal gives every message of one group commit the same promise, so consecutive holds on it
   * share one state and one pair of callbacks.
   */
  hold(messageId: number, durable: Promise<unknown>): void {
    let h = this.lastHold;
    if (h?.promise !== durable) {
      const fresh = { settled: false, ok: false, promise: durable };
      durable.then(
        () => {
          fresh.settled = true;
          fresh.ok = true;
          this.schedulePump();
        },
        () => {
          fresh.settled = true;
          this.schedulePump();
        },
      );
      this.lastHold = h = fresh;
    }
    this.holds.set(messageId, h);
  }

  /** PUBACKs written by MQTT.js but not yet released to the broker. */
  get held(): number {
    return this.queue.length - this.head;
  }

  /**
   * One pump after all the holds a group commit settles: their callbacks are queued together, so a pump
   * queued behind them sees every one settled and writes their PUBACKs in a single socket write.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (let packet = this.nextPacket(); packet; packet = this.nextPacket()) {
      const isPuback = packet[0]! >> 4 === PUBACK;
      const messageId = isPuback ? packet.readUInt16BE(packet.length - this.bodyLength(packet)) : -1;
      const hold = isPuback ? this.holds.get(messageId) : undefined;
      if (hold) this.holds.delete(messageId);
      this.queue.push(hold ? { buf: packet, hold } : { buf: packet });
    }
    this.pump();
    done();
  }

  /** Splits the first whole MQTT packet off `pending` (fixed header + variable-length "remaining length"). */
  private nextPacket(): Buffer | undefined {
    const buf = this.pending;
    let length = 0;
    let multiplier = 1;
    let i = 1;
    for (; i < 5; i++) {
      if (i >= buf.length) return undefined;
      const byte = buf[i]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) break;
    }
    const total = i + 1 + length;
    if (buf.length < total) return undefined;
    this.pending = buf.subarray(total);
    return buf.subarray(0, total);
  }

  private bodyLength(packet: Buffer): number {
    let i = 1;
    while (packet[i]! & 0x80) i++;
    return packet.length - (i + 1);
  }

  private pump(): void {
    if (this.pumping || this.destroyed) return;
    this.pumping = true;
    const out: Buffer[] = [];
    try {
      while (this.head < this.queue.length) {
        const next = this.queue[this.head]!;
        if (next.hold && !next.hold.settled) break;
        if (next.hold && !next.hold.ok) {
          out.length = 0; // nothing behind a failed commit may leave, not even what was released before it in this pump
          this.destroy(new IngestError('INGEST_ERR_JOURNAL', 'the journal could not make a message durable; dropping the connection so the broker redelivers it'));
          return;
        }
        out.push(next.buf);
        this.head++;
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 4096) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (out.length > 0) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      if (this.head === this.queue.length && this.finish) this.finish();
    } finally {
      this.pumping = false;
    }
  }

  /** A graceful end first lets the held PUBACKs out (their commits are moments away). */
  override _final(done: (err?: Error | null) => void): void {
    this.finish = () => {
      this.finish = undefined;
      this.socket.end();
      done();
    };
    this.pump();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.queue = [];
    this.head = 0;
    this.holds.clear();
    this.socket.destroy();
    done(err);
  }
}
