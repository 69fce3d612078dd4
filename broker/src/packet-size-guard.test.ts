import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from './packet-size-guard.js';

/** Just enough of a net.Socket for the guard: data/end/close events, pause/resume, destroy. */
function fakeSocket(): Socket & { destroyedByGuard: boolean } {
  const socket = new EventEmitter() as unknown as Socket & { destroyedByGuard: boolean };
  Object.assign(socket, {
    remoteAddress: '10.0.0.7',
    destroyed: false,
    destroyedByGuard: false,
    pause() {},
    resume() {},
    write(_c: Buffer, cb: () => void) {
      cb();
      return true;
    },
    end(cb: () => void) {
      cb();
    },
    destroy() {
      socket.destroyedByGuard = true;
    },
  });
  return socket;
}

async function run(chunks: number[][], max: number): Promise<{ passed: Buffer; oversize: number[]; destroyed: boolean }> {
  const socket = fakeSocket();
  const oversize: number[] = [];
  const guard = new PacketSizeGuard(socket, max, (n) => oversize.push(n));
  const passed: Buffer[] = [];
  guard.on('data', (c: Buffer) => passed.push(c));
  guard.on('error', () => undefined);
  for (const chunk of chunks) socket.emit('data', Buffer.from(chunk));
  await new Promise((resolve) => setImmediate(resolve)); // readable 'data' is delivered on a later tick
  return { passed: Buffer.concat(passed), oversize, destroyed: socket.destroyedByGuard };
}

describe('PacketSizeGuard', () => {
  it('passes packets through unchanged, however the bytes are split', async () => {
    // PINGREQ (c0 00), then PUBLISH with remaining length 130 (varint 0x82 0x01) split mid-varint.
    const body = new Array(130).fill(7);
    const { passed, oversize, destroyed } = await run([[0xc0, 0x00, 0x30, 0x82], [0x01, ...body.slice(0, 50)], body.slice(50), [0xc0, 0x00]], 200);
    expect(passed).toEqual(Buffer.from([0xc0, 0x00, 0x30, 0x82, 0x01, ...body, 0xc0, 0x00]));
    expect(oversize).toEqual([]);
    expect(destroyed).toBe(false);
  });

  it('cuts the connection at the length byte that exceeds the limit, without passing that chunk on', async () => {
    const { passed, oversize, destroyed } = await run([[0xc0, 0x00], [0x30, 0xff, 0xff, 0xff, 0x7f]], 1000);
    expect(oversize).toEqual([127 + 127 * 128]); // refused after the second length byte
    expect(destroyed).toBe(true);
    expect(passed).toEqual(Buffer.from([0xc0, 0x00]));
  });

  it('accepts a packet of exactly the limit and refuses the next one that is larger', async () => {
    const exact = [0x30, 0x0a, ...new Array(10).fill(1)];
    const { oversize } = await run([exact, [0x30, 0x0b]], 10);
    expect(oversize).toEqual([11]);
  });

  it('exposes the peer address for denial logs', () => {
    expect(new PacketSizeGuard(fakeSocket(), 10, () => undefined).remoteAddress).toBe('10.0.0.7');
  });

  describe('outgoing bytes, over a real loopback socket', () => {
    async function pair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const accepted = new Promise<Socket>((r) => srv.once('connection', r));
      const client = createConnection({ port: (srv.address() as { port: number }).port, host: '127.0.0.1' });
      const server = await accepted;
      return { server, client, close: () => (client.destroy(), server.destroy(), srv.close()) };
    }

    it('sends a burst of chunks written in one event-loop turn as one socket write', async () => {
      const { server, client, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      let socketWrites = 0;
      const write = server.write.bind(server) as (chunk: Buffer) => boolean;
      server.write = ((chunk: Buffer) => (socketWrites++, write(chunk))) as typeof server.write;
      const received: Buffer[] = [];
      client.on('data', (c: Buffer) => received.push(c));
      guard.cork(); // what mqtt-packet does around each packet
      for (let i = 0; i < 10; i++) guard.write(Buffer.from([i, i]));
      guard.uncork();
      await new Promise((r) => setTimeout(r, 50));
      expect(socketWrites).toBe(1);
      expect(Buffer.concat(received)).toEqual(Buffer.from([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]));
      close();
    });

    it('keeps order and waits for drain when the peer reads slowly', async () => {
      const { server, client, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      const chunks = Array.from({ length: 160 }, (_, i) => Buffer.alloc(64 * 1024, i)); // 10 MiB, far above socket buffers
      let flowedAll = true;
      for (const c of chunks) flowedAll = guard.write(c) && flowedAll;
      expect(flowedAll).toBe(false); // backpressure reached the writer
      let got = 0;
      const firstBytes: number[] = [];
      await new Promise<void>((resolve) => {
        client.pause();
        setTimeout(() => client.resume(), 100);
        client.on('data', (c: Buffer) => {
          for (let at = (64 * 1024 - (got % (64 * 1024))) % (64 * 1024); at < c.length; at += 64 * 1024) firstBytes.push(c[at]!);
          got += c.length;
          if (got === 160 * 64 * 1024) resolve();
        });
      });
      expect(firstBytes).toEqual(chunks.map((_, i) => i));
      close();
    });

    it("emits 'drain' once the socket has room again after a write said false (aedes waits for it)", async () => {
      const { server, client, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      client.pause();
      // 10 MiB: more than the loopback socket buffers take while the peer does not read.
      const said = Array.from({ length: 160 }, () => guard.write(Buffer.alloc(64 * 1024, 1)));
      expect(said.at(-1)).toBe(false);
      let drains = 0;
      guard.on('drain', () => drains++);
      await new Promise((r) => setTimeout(r, 50));
      expect(drains).toBe(0); // nobody has read yet
      client.resume();
      await new Promise<void>((r) => guard.once('drain', () => r()));
      expect(drains).toBe(1);
      expect(guard.write(Buffer.from([1]))).toBe(true);
      close();
    });

    it('sends strings as UTF-8 in order with buffers (mqtt-packet writes topics as strings)', async () => {
      const { server, client, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      const received: Buffer[] = [];
      client.on('data', (c: Buffer) => received.push(c));
      guard.write(Buffer.from([0x30]));
      guard.write('tsunagaru/v1/水道/x');
      guard.write(Buffer.from([0xff]));
      await new Promise((r) => setTimeout(r, 50));
      expect(Buffer.concat(received)).toEqual(Buffer.concat([Buffer.from([0x30]), Buffer.from('tsunagaru/v1/水道/x', 'utf8'), Buffer.from([0xff])]));
      close();
    });

    it('sends what was written just before destroy (a CONNACK refusal), then closes', async () => {
      const { server, client, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      const received: Buffer[] = [];
      client.on('data', (c: Buffer) => received.push(c));
      const ended = new Promise<void>((r) => client.once('close', () => r()));
      guard.write(Buffer.from([0x20, 0x02, 0x00, 0x04])); // CONNACK, return code 4
      guard.destroy();
      await ended;
      expect(Buffer.concat(received)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x04]));
      close();
    });

    it('reports a write after destroy through the callback, not a throw', async () => {
      const { server, close } = await pair();
      const guard = new PacketSizeGuard(server, 1000, () => undefined);
      guard.on('error', () => undefined);
      guard.destroy();
      const err = await new Promise<Error | null | undefined>((r) => guard.write(Buffer.from([1]), (e) => r(e)));
      expect(err?.message).toMatch(/destroyed/);
      close();
    });
  });
});
