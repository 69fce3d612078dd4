import { Duplex, PassThrough } from 'node:stream';
import { generate, parser, type Packet } from 'mqtt-packet';
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

  it('lets out the PUBACKs one group commit settles in a single socket write, in order', async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    const commit = deferred();
    for (let id = 1; id <= 2000; id++) {
      gate.hold(id, commit.promise);
      gate.write(puback(id));
    }
    await tick();
    expect(written).toEqual([]);
    commit.resolve();
    await tick();
    expect(written).toHaveLength(1);
    expect(written[0]).toEqual(Buffer.concat(Array.from({ length: 2000 }, (_, i) => puback(i + 1))));
    expect(gate.held).toBe(0);
  });

  it('keeps order across thousands of holds settled in several commits', async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    const commits = [deferred(), deferred(), deferred()];
    const ids = Array.from({ length: 9000 }, (_, i) => (i % 65535) + 1);
    ids.forEach((id, i) => {
      gate.hold(id, commits[Math.floor(i / 3000)]!.promise);
      gate.write(puback(id));
      if (i === 3000 || i === 6000) commits[Math.floor(i / 3000) - 1]!.resolve();
    });
    await tick();
    expect(gate.held).toBe(3000);
    commits[2]!.resolve();
    await tick();
    expect(Buffer.concat(written)).toEqual(Buffer.concat(ids.map(puback)));
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

  it('holds MQTT 5 PUBACKs (reason code, properties, multi-byte length) as MQTT.js writes them, by packet id', async () => {
    const { socket, written } = fakeSocket();
    const gate = new PubackGate(socket);
    const v5 = { protocolVersion: 5 };
    const packets: Packet[] = [
      { cmd: 'puback', messageId: 0x1234 }, // reason 0 and no properties: the 2-byte short form [MQTT-3.4.2.1]
      { cmd: 'puback', messageId: 0x0102, reasonCode: 0x10, properties: { reasonString: 'x'.repeat(200) } }, // remaining length > 127
      { cmd: 'pingreq' },
      { cmd: 'puback', messageId: 0xfffe, reasonCode: 0, properties: { userProperties: { worker: 'ingest-2' } } },
    ];
    const held = [deferred(), deferred(), deferred()];
    gate.hold(0x1234, held[0]!.promise);
    gate.hold(0x0102, held[1]!.promise);
    gate.hold(0xfffe, held[2]!.promise);
    const bytes = Buffer.concat(packets.map((p) => generate(p, v5)));
    for (let i = 0; i < bytes.length; i += 37) gate.write(bytes.subarray(i, i + 37)); // arbitrary write boundaries
    await tick();
    expect(gate.held).toBe(4);
    held[0]!.resolve();
    held[2]!.resolve();
    await tick();
    const sent = () => {
      const out: Packet[] = [];
      const p = parser(v5);
      p.on('packet', (packet) => out.push(packet));
      p.parse(Buffer.concat(written));
      return out.map((x) => ({ cmd: x.cmd, messageId: (x as { messageId?: number }).messageId }));
    };
    expect(sent()).toEqual([{ cmd: 'puback', messageId: 0x1234 }]); // 0x0102 still waits; the rest stays behind it
    held[1]!.resolve();
    await tick();
    expect(Buffer.concat(written)).toEqual(bytes);
    expect(sent().map((x) => x.messageId)).toEqual([0x1234, 0x0102, undefined, 0xfffe]);
  });
});
