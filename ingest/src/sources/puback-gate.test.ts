import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PubackGate } from './puback-gate.js';

/** A fake socket: what the gate writes is collected; nothing is read. */
function fakeSocket(): { socket: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const socket = new Duplex({ read() {}, write(chunk: Buffer, _e, cb) { written.push(chunk); cb(); } });
  return { socket, written };
}
const puback = (id: number) => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);
const pingreq = Buffer.from([0xc0, 0x00]);
const deferred = () => {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
};
const tick = () => new Promise((r) => setImmediate(r));

describe('PubackGate', () => {
  it('holds each PUBACK until its message is durable, keeps the order, and lets other packets queue behind', async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    const [a, b] = [deferred(), deferred()];
    gate.hold(1, a.promise);
    gate.hold(2, b.promise);
    // MQTT.js may split a packet across writes and put several in one.
    gate.write(Buffer.concat([puback(1), puback(2).subarray(0, 1)]));
    gate.write(Buffer.concat([puback(2).subarray(1), pingreq, puback(3)]));
    await tick();
    expect(written).toEqual([]);
    expect(gate.held).toBe(4);
    b.resolve();
    await tick();
    expect(written).toEqual([]); // 2 must not overtake 1 [MQTT-4.6.0-2]
    a.resolve();
    await tick();
    expect(Buffer.concat(written)).toEqual(Buffer.concat([puback(1), puback(2), pingreq, puback(3)]));
    expect(gate.held).toBe(0);
  });

  it('cuts the connection instead of acknowledging a message the journal failed to keep', async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    const errors: Error[] = [];
    gate.on('error', (e) => errors.push(e));
    const a = deferred();
    gate.hold(7, a.promise);
    gate.write(puback(7));
    a.reject(new Error('disk full'));
    await tick();
    expect(written).toEqual([]);
    expect(gate.destroyed).toBe(true);
    expect(socket.destroyed).toBe(true);
    expect(errors[0]?.message).toMatch(/could not make a message durable/);
  });

  it('passes what the broker sends straight through', async () => {
    const socket = new PassThrough();
    const gate = new PubackGate(socket);
    const got: Buffer[] = [];
    gate.on('data', (d: Buffer) => got.push(d));
    socket.push(Buffer.from([0x30, 0x00]));
    await tick();
    expect(Buffer.concat(got)).toEqual(Buffer.from([0x30, 0x00]));
  });
});
