import { describe, expect, it } from 'vitest';
import type { BufferedSample, BufferOptions, DropReport, Lane, MessageBuffer, OutgoingMessage } from './types.js';

export const T0 = 1_750_000_000_000;

/** A numbered message whose payload is `size` bytes of JSON (style: MQTT.js abstract_store). */
export function message(seq: number, lane: Lane = 'live', samples = 1, size = 100): OutgoingMessage {
  const body = JSON.stringify({ seq, pad: 'x'.repeat(Math.max(0, size - 20)) });
  return { lane, channel: lane === 'event' ? 'event' : 'telemetry', boot: 3, seq, firstTs: T0 + seq * 1000, lastTs: T0 + seq * 1000 + (samples - 1) * 1000, samples: lane === 'event' ? 0 : samples, payload: Buffer.from(body) };
}

export const sample = (i: number): BufferedSample => ({ ts: T0 + i * 1000, batterySocPct: 50 + (i % 50) });

/**
 * Behaviour every MessageBuffer must have, run against each implementation (memory-buffer.test.ts,
 * disk-buffer.test.ts). `create` returns a fresh, opened buffer.
 */
export function messageBufferContract(name: string, create: (options: BufferOptions) => Promise<MessageBuffer>): void {
  describe(`MessageBuffer contract: ${name}`, () => {
    it('hands out a pushed message until it is acknowledged', async () => {
      const b = await create({ maxBytes: 1 << 20 });
      const m = await b.push(message(0));
      expect(m.seq).toBe(0);
      expect((await b.next(10)).map((x) => x.id)).toEqual([m.id]);
      expect((await b.next(10))[0]!.payload.equals(message(0).payload)).toBe(true);
      expect(b.stats().pending).toEqual({ event: 0, live: 1, replay: 0 });
      await b.ack(m.id);
      await b.ack(m.id);
      await b.ack(9999);
      expect(await b.next(10)).toEqual([]);
      expect(b.stats().pendingSamples).toBe(0);
      await b.close();
    });

    it('sends events first, then live telemetry, then the replayed backlog, oldest first in each', async () => {
      const b = await create({ maxBytes: 1 << 20 });
      await b.push(message(0, 'replay', 200));
      await b.push(message(1, 'live'));
      await b.push(message(2, 'replay', 200));
      await b.push(message(3, 'event'));
      await b.push(message(4, 'live'));
      expect((await b.next(10)).map((m) => m.seq)).toEqual([3, 1, 4, 0, 2]);
      const first = await b.next(2);
      expect(first.map((m) => m.seq)).toEqual([3, 1]);
      expect((await b.next(2, new Set(first.map((m) => m.id)))).map((m) => m.seq)).toEqual([4, 0]);
      await b.close();
    });

    it('seals the open batch into one message, and starts a new batch after it', async () => {
      const b = await create({ maxBytes: 1 << 20 });
      expect(await b.seal(() => message(99))).toBeUndefined();
      for (let i = 0; i < 5; i++) await b.addSample(sample(i));
      expect(b.openBatch()).toEqual([0, 1, 2, 3, 4].map(sample));
      expect(b.stats()).toMatchObject({ openBatch: 5, pendingSamples: 5, oldestPendingTs: T0 });
      let seen: readonly BufferedSample[] = [];
      const sealed = b.seal((samples) => {
        seen = [...samples];
        return message(7, 'replay', samples.length);
      });
      await b.addSample(sample(5));
      expect((await sealed)?.samples).toBe(5);
      expect(seen).toHaveLength(5);
      expect(b.openBatch()).toEqual([sample(5)]);
      expect((await b.next(10)).map((m) => [m.seq, m.samples])).toEqual([[7, 5]]);
      expect(b.stats()).toMatchObject({ openBatch: 1, pendingSamples: 6 });
      await b.close();
    });

    it('keeps acknowledged telemetry as history for the replay command, by time range', async () => {
      const b = await create({ maxBytes: 1 << 20 });
      const ms = [];
      for (let i = 0; i < 5; i++) ms.push(await b.push(message(i, i === 2 ? 'event' : 'live')));
      for (const m of ms.slice(0, 4)) await b.ack(m.id);
      const got = [];
      for await (const m of b.history(T0 + 1000, T0 + 3000)) got.push(m.seq);
      // seq 2 is an event, seq 4 still pending: neither is history.
      expect(got).toEqual([1, 3]);
      await b.close();
    });

    it('drops the oldest data when full, counts it, reports the seq range, and keeps working', async () => {
      const reports: DropReport[] = [];
      const maxBytes = 64 * 1024;
      const b = await create({ maxBytes, onDrop: (r) => reports.push(r) });
      const pushed = [];
      for (let i = 0; i < 200; i++) pushed.push(await b.push(message(i, 'replay', 10, 1000)));
      const s = b.stats();
      expect(s.bytes).toBeLessThanOrEqual(maxBytes);
      expect(s.droppedMessages).toBeGreaterThan(0);
      expect(s.droppedSamples).toBe(s.droppedMessages * 10);
      expect(reports.reduce((n, r) => n + r.messages, 0)).toBe(s.droppedMessages);
      expect(reports[0]?.firstDropped).toEqual({ boot: 3, seq: 0 });
      const left = (await b.next(1000)).map((m) => m.seq);
      // What is left is the newest, in order, and nothing in the middle went missing.
      expect(left.at(-1)).toBe(199);
      expect(left).toEqual(Array.from({ length: left.length }, (_, k) => 200 - left.length + k));
      expect(left.length + s.droppedMessages).toBe(200);
      const more = await b.push(message(200));
      expect((await b.next(1)).map((m) => m.id)).toEqual([more.id]);
      await b.close();
    });
  });
}
