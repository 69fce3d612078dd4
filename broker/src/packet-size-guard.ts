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
  private corked = false;
  private readonly releaseSocket = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

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

  // Outgoing bytes: mqtt-packet writes each packet as several small chunks inside cork()/uncork().
  // Forward a corked batch as one socket write (writev) and acknowledge at once unless the socket
  // pushes back: waiting for each chunk's write callback made every chunk its own syscall and took
  // half the broker's CPU under fan-in (bench/lib/profile-fan-in.ts). Socket errors reach this stream
  // through the 'error' listener above, so nothing is lost by not waiting for the callback.
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.forward(chunks.map((c) => c.chunk), callback);
  }

  private forward(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    // aedes writes each delivered message on its own (setImmediate per message); cork the socket until
    // the event loop's next turn so a burst of messages to one subscriber leaves in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.releaseSocket);
    }
    const flowing = this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (flowing) return callback();
    // Backpressure: the next write waits for drain; a socket closed meanwhile destroys this stream.
    const resume = (): void => {
      this.socket.removeListener('close', resume);
      this.socket.removeListener('drain', resume);
      callback();
    };
    this.socket.once('drain', resume);
    this.socket.once('close', resume);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // aedes destroys the stream right after writing a refusal (e.g. CONNACK 4): send what is corked first.
    if (this.corked) this.releaseSocket();
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
