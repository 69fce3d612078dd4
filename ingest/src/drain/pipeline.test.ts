import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { createIngestPipeline, type IngestPipeline } from './pipeline.js';
import type { StorageWriter } from '../storage/types.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const telemetry = (seq: number, samples: object[], id = 'bs-1') => json({ v: 1, id, boot: 2, seq, ts: T0, samples });

describe('ingest pipeline', () => {
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let pipeline: IngestPipeline;
  const topic = buildTopic('bs-power', 'bs-1', 'telemetry');

  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'bs-1', type: 'bs-power', attributes: { site: 'shinjuku-ward-office' } });
    pipeline = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
  });
  afterEach(async () => {
    await store.close();
    await registry.close();
  });

  it('stores a valid reading and reports a redelivery as a duplicate, stored once', async () => {
    const msg = telemetry(0, [{ ts: T0, batterySocPct: 97, mains: 'on' }]);
    expect((await pipeline.handle(topic, msg)).kind).toBe('stored');
    expect((await pipeline.handle(topic, msg)).kind).toBe('duplicate');
    expect(await store.readings.readings('bs-1', 'bs-power', { from: T0, to: T0 + 1, limit: 10 })).toHaveLength(1);
    expect(pipeline.counters().byOutcome).toMatchObject({ stored: 1, duplicate: 1 });
  });

  it('dead-letters an out-of-bounds reading with a reason that names the field, and stores nothing', async () => {
    const samples = [0, 1, 2, 3].map((i) => ({ ts: T0 + i * 1000, batterySocPct: i === 3 ? 104 : 90 }));
    const outcome = await pipeline.handle(topic, telemetry(1, samples));
    expect(outcome).toEqual({ kind: 'dead-letter', reason: 'samples[3].batterySocPct: must be ≤ 100' });
    const [dl] = await store.operations.listDeadLetters({ limit: 1 });
    expect(dl).toMatchObject({ topic, deviceId: 'bs-1', reason: 'samples[3].batterySocPct: must be ≤ 100', truncated: false });
    expect(JSON.parse(dl!.payload)).toMatchObject({ seq: 1 });
    expect(await store.readings.readings('bs-1', 'bs-power', { from: 0, to: T0 + 10_000, limit: 10 })).toHaveLength(0);
  });

  it('dead-letters what cannot be parsed, unknown devices and mismatched ids, keeping the payload', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      [topic, Buffer.from('{"v":1,'), /^payload: invalid JSON/],
      ['tsunagaru/v1/toaster/x/telemetry', json({}), /^topic: unknown device type "toaster"/],
      [buildTopic('bs-power', 'ghost', 'telemetry'), telemetry(0, [{ ts: T0, loadA: 3 }], 'ghost'), /^device: "ghost" is not provisioned/],
      [buildTopic('smart-pole', 'bs-1', 'telemetry'), json({ v: 1, id: 'bs-1', boot: 0, seq: 0, ts: T0, samples: [{ ts: T0, noiseDb: 40 }] }), /provisioned as bs-power, not smart-pole/],
      [topic, telemetry(5, [{ ts: T0, loadA: 3 }], 'bs-2'), /^id: must equal the topic's deviceId "bs-1"/],
      [topic, Buffer.alloc(70 * 1024, 0x20), /exceeds the 65536-byte limit/],
    ];
    for (const [t, payload, reason] of cases) {
      const outcome = await pipeline.handle(t, payload);
      expect(outcome.kind).toBe('dead-letter');
      expect(outcome.kind === 'dead-letter' && outcome.reason).toMatch(reason);
    }
    const letters = await store.operations.listDeadLetters({ limit: 10 });
    expect(letters).toHaveLength(cases.length);
    expect(letters[0]).toMatchObject({ payloadBytes: 70 * 1024, truncated: true });
  });

  it('tracks online/offline from state messages and ignores the late will of an earlier boot', async () => {
    const stateTopic = buildTopic('bs-power', 'bs-1', 'state');
    await pipeline.handle(stateTopic, json({ v: 1, id: 'bs-1', state: 'online', boot: 2, ts: T0, fw: '2.1.0', model: 'DCP-48', sampleSec: 60 }));
    expect((await store.operations.getStatus('bs-1'))?.online).toBe(true);
    expect(await pipeline.handle(stateTopic, json({ v: 1, id: 'bs-1', state: 'offline', boot: 1 }))).toEqual({ kind: 'state', deviceId: 'bs-1', online: true, stale: true });
    expect(await pipeline.handle(stateTopic, json({ v: 1, id: 'bs-1', state: 'offline', boot: 2 }))).toEqual({ kind: 'state', deviceId: 'bs-1', online: false, stale: false });
  });

  it('does not treat its own commands as dead letters', async () => {
    const outcome = await pipeline.handle(buildTopic('bs-power', 'bs-1', 'cmd'), json({ v: 1, cmdId: 'c1', name: 'ping', ts: T0 }));
    expect(outcome.kind).toBe('ignored');
    expect(await store.operations.countDeadLetters()).toBe(0);
  });

  it('rejects (so the message is not acknowledged) when storage fails, and loses nothing on retry', async () => {
    let failures = 2;
    const flaky: StorageWriter = {
      write: async (m) => {
        if (failures-- > 0) throw new Error('disk unavailable');
        return store.writer.write(m);
      },
      close: async () => {},
    };
    const p = createIngestPipeline({ writer: flaky, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    const msg = telemetry(9, [{ ts: T0, loadA: 12 }]);
    await expect(p.handle(topic, msg)).rejects.toThrow('disk unavailable');
    await expect(p.handle(topic, msg)).rejects.toThrow('disk unavailable');
    expect((await p.handle(topic, msg)).kind).toBe('stored');
    expect(p.counters().storageErrors).toBe(2);
  });
});
