import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * aedes parses with mqtt-packet, which has no packet size limit: it buffers a PUBLISH until the
 * whole of its declared length (up to 256 MiB) has arrived, before any hook can look at it. This
 * stream sits between the socket and aedes, reads only each packet's fixed header (type byte +
 * "remaining length" varint, MQTT 3.1.1 §2.2.3) and cuts the connection as soon as a packet
 * declares more than `maxRemainingLength` bytes, so an oversized packet costs a few bytes of memory.
 * All bytes are passed through unchanged.
 */
export class PacketSizeGuard extends Duplex {
  /** Peer address, kept for denial logs (aedes only sees this stream, not the socket). */
  readonly remoteAddress: string | undefined;
  private state: 'header' | 'length' | 'body' = 'header';
  private declared = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private tripped = false;

  constructor(
    /** The socket underneath (the broker reads TLS peer certificates from it). */
    readonly socket: Socket,
    private readonly maxRemainingLength: number,
    private readonly onOversize: (declaredBytes: number) => void,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    socket.on('data', (chunk: Buffer) => {
      if (this.tripped) return;
      if (!this.scan(chunk)) {
        this.tripped = true;
        this.onOversize(this.declared);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  // Outgoing bytes. mqtt-packet writes each packet as several small chunks (header, length, topic,
  // id, payload) inside cork()/uncork(), and aedes writes each delivered message on its own turn
  // (setImmediate). Going through Writable's buffering per chunk, then the socket's, cost a fifth of
  // the broker's CPU under fan-in (bench/lib/profile-fan-in.ts), and a write per chunk cost half.
  // So while the stream is open, `write` only collects the bytes, and one socket write per event-loop
  // turn sends everything collected: a burst of messages to a subscriber leaves in one syscall.
  // Socket errors reach this stream through the 'error' listener above, so nothing waits for callbacks.
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private flushQueued = false;
  /** `write` said false: emit 'drain' (aedes waits for it) once the socket has room again. */
  private owesDrain = false;
  private readonly flushSoon = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  private waitingForSocket = false;
  private readonly socketDrained = (): void => {
    this.waitingForSocket = false;
    this.drained();
  };
  private readonly drained = (): void => {
    if (!this.owesDrain || this.outgoingBytes + this.socket.writableLength >= this.socket.writableHighWaterMark) return;
    this.owesDrain = false;
    this.emit('drain');
  };

  override write(chunk: unknown, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
    const cb = typeof encoding === 'function' ? encoding : callback;
    const enc = typeof encoding === 'string' ? encoding : 'utf8';
    if (this.destroyed || this.writableEnded || this.socket.destroyed || (typeof chunk !== 'string' && !Buffer.isBuffer(chunk))) {
      // Not open (or not bytes): Writable reports the error the usual way.
      return cb ? super.write(chunk, enc, cb) : super.write(chunk, enc);
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    this.outgoing.push(buf);
    this.outgoingBytes += buf.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushSoon);
    }
    if (cb) process.nextTick(cb);
    if (this.outgoingBytes + this.socket.writableLength < this.socket.writableHighWaterMark) return true;
    this.owesDrain = true;
    return false;
  }

  // mqtt-packet's cork()/uncork() pair is what `write` does anyway.
  override cork(): void {}
  override uncork(): void {}

  private flush(): void {
    if (this.outgoingBytes === 0 || this.socket.destroyed) return;
    const chunks = this.outgoing;
    const bytes = this.outgoingBytes;
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes))) this.drained();
    else if (!this.waitingForSocket) {
      this.waitingForSocket = true;
      this.socket.once('drain', this.socketDrained);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.flush();
    if (this.socket.destroyed) return callback();
    if (this.socket.write(chunk)) return callback();
    this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // aedes destroys the stream right after writing a refusal (e.g. CONNACK 4): send what is collected first.
    this.flush();
    this.socket.destroy();
    callback(err);
  }

  /** Advances the header state machine over `chunk`; false when a packet is too large. */
  private scan(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'header') {
        i++; // packet type and flags: mqtt-packet validates them
        this.state = 'length';
        this.declared = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++]!;
        this.declared += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        // The length only grows with more bytes, so refuse as soon as it is over the limit.
        if (this.declared > this.maxRemainingLength) return false;
        if ((byte & 0x80) === 0 || this.lengthBytes === 4) {
          // A fifth length byte is malformed; mqtt-packet reports that error itself.
          this.remaining = this.declared;
          this.state = this.remaining === 0 ? 'header' : 'body';
        }
      } else {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'header';
      }
    }
    return true;
  }
}
