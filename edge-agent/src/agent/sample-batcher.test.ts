import { MAX_PAYLOAD_BYTES } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { MemoryBuffer } from '../buffer/memory-buffer.js';
import { MemoryIdentityStore } from '../identity-store.js';
import { MessageFactory } from './message-factory.js';
import { LIVE_QUEUE, SampleBatcher } from './sample-batcher.js';

const T0 = 1_750_000_000_000;
const full = (i: number) => ({ ts: T0 + i * 1000, mains: 'on', rectifierV: 53.51, loadA: 41.2, batteryV: 53.47, batteryA: 2.41, batteryTempC: 24.6, batterySocPct: 99.2, batterySohPct: 91.5, batteryCapacityAh: 400, generator: 'off', fuelPct: 87.9, backhaul: 'fiber', runtimeMin: 1311 });

async function setup(batchSamples?: number) {
  const identity = new MemoryIdentityStore();
  await identity.nextBoot();
  const buffer = new MemoryBuffer({ maxBytes: 64 << 20 });
  const factory = new MessageFactory('bs-power', 'bs-1', identity, true, batchSamples);
  return { buffer, batcher: new SampleBatcher(buffer, factory) };
}

describe('SampleBatcher', () => {
  it('online: one live message per sample', async () => {
    const { buffer, batcher } = await setup();
    expect(await batcher.add(full(0), true)).toBe(true);
    expect((await buffer.next(10)).map((m) => [m.lane, m.samples, m.seq])).toEqual([['live', 1, 0]]);
  });

  it('offline: full bs-power samples batch up to the 64 KiB limit, numbered in order, marked replay', async () => {
    const { buffer, batcher } = await setup();
    for (let i = 0; i < 1000; i++) await batcher.add(full(i), false);
    await batcher.seal('replay');
    const ms = await buffer.next(100);
    expect(ms.every((m) => m.lane === 'replay' && m.payload.length <= MAX_PAYLOAD_BYTES)).toBe(true);
    expect(ms.map((m) => m.seq)).toEqual(ms.map((_, i) => i));
    expect(ms.reduce((n, m) => n + m.samples, 0)).toBe(1000);
    // About 250 full samples fit one message; the batch is cut by size, not by the 1,000-sample limit.
    expect(ms[0]!.samples).toBeGreaterThan(200);
    expect(ms[0]!.samples).toBeLessThan(300);
    const payload = JSON.parse(ms[0]!.payload.toString()) as { replay: boolean; samples: { ts: number }[]; ts: number };
    expect(payload.replay).toBe(true);
    expect(payload.ts).toBe(payload.samples[0]!.ts);
  });

  it('honours a smaller batchSamples', async () => {
    const { buffer, batcher } = await setup(10);
    for (let i = 0; i < 25; i++) await batcher.add(full(i), false);
    await batcher.seal('replay');
    expect((await buffer.next(10)).map((m) => m.samples)).toEqual([10, 10, 5]);
  });

  it('online under backpressure: live samples batch while the live lane is busy, so it never grows one per sample', async () => {
    const { buffer, batcher } = await setup();
    for (let i = 0; i < 100; i++) await batcher.add(full(i), true);
    expect(buffer.pendingCount('live')).toBe(LIVE_QUEUE);
    expect(buffer.openBatch()).toHaveLength(100 - LIVE_QUEUE);
    for (const m of await buffer.next(10)) await buffer.ack(m.id);
    await batcher.add(full(100), true);
    const live = await buffer.next(10);
    expect(live.map((m) => [m.lane, m.samples])).toEqual([['live', 100 - LIVE_QUEUE + 1]]);
  });
});
