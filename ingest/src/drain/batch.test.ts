import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { IngestError } from '../errors.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage, StorageWriter } from '../storage/types.js';
import { createIngestPipeline, type RawMessage } from './pipeline.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const topic = buildTopic('water-meter', 'wm-1', 'telemetry');
const raw = (seq: number, indexL: number): RawMessage => ({ topic, payload: Buffer.from(JSON.stringify({ v: 1, id: 'wm-1', boot: 1, seq, ts: T0, samples: [{ ts: T0 + seq, indexL }] })), receivedAt: T0 });

describe('ingest pipeline, batches', () => {
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter' });
  });
  afterEach(async () => {
    await store.close();
    await registry.close();
  });

  it('writes a batch in one call and stores a message repeated inside it once', async () => {
    const calls: number[] = [];
    const counting: StorageWriter = { write: async (m) => (calls.push(m.length), store.writer.write(m)), close: async () => {} };
    const p = createIngestPipeline({ writer: counting, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    const outcomes = await p.handleBatch([raw(0, 10), raw(1, 11), raw(0, 10), { topic, payload: Buffer.from('nope'), receivedAt: T0 }]);
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'duplicate', 'dead-letter']);
    expect(calls).toEqual([3]);
    expect(await store.readings.readings('wm-1', 'water-meter', { from: T0, to: T0 + 10, limit: 10 })).toHaveLength(2);
    expect((await store.operations.getStatus('wm-1'))?.lastSeen).toBe(T0);
  });

  it('dead-letters only the messages a store refuses as bad data (HTTP 400), storing the rest of the batch', async () => {
    const attempts: number[] = [];
    const picky: StorageWriter = {
      write: async (msgs: readonly StorableMessage[]) => {
        attempts.push(msgs.length);
        if (msgs.some((m) => m.payload.seq === 5)) throw new IngestError('INGEST_ERR_STORE_REJECTED', 'InfluxDB rejected the data (HTTP 400): field type conflict');
        return store.writer.write(msgs);
      },
      close: async () => {},
    };
    const p = createIngestPipeline({ writer: picky, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    const outcomes = await p.handleBatch(Array.from({ length: 8 }, (_, i) => raw(i, 100 + i)));
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'stored', 'stored', 'stored', 'dead-letter', 'stored', 'stored']);
    expect(attempts.length).toBeLessThanOrEqual(7); // halves, never one retry loop per message
    const [dl] = await store.operations.listDeadLetters({ limit: 1 });
    expect(dl).toMatchObject({ reason: 'store: InfluxDB rejected the data (HTTP 400): field type conflict', topic });
    expect(JSON.parse(dl!.payload)).toMatchObject({ seq: 5 });
  });

  it('finds a poison message that makes the writer throw every time, once asked to, and stores the rest', async () => {
    const poisoned: StorageWriter = {
      write: async (msgs: readonly StorableMessage[]) => {
        if (msgs.some((m) => m.payload.seq === 3)) throw new IngestError('INGEST_ERR_STORAGE', 'embedded store write failed: Maximum call stack size exceeded');
        return store.writer.write(msgs);
      },
      close: async () => {},
    };
    const p = createIngestPipeline({ writer: poisoned, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    const batch = Array.from({ length: 6 }, (_, i) => raw(i, 200 + i));
    await expect(p.handleBatch(batch)).rejects.toThrow('call stack');
    const outcomes = await p.handleBatch(batch, { isolatePoison: true });
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'stored', 'stored', 'dead-letter', 'stored', 'stored']);
    expect(outcomes[3]).toMatchObject({ reason: expect.stringMatching(/^store: failed alone while the rest of its batch was stored: .*call stack/) });
  });

  it('dead-letters a message that makes a validation step throw, instead of retrying the batch for ever', async () => {
    const p = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => (id === 'wm-1' ? registry.getDevice(id) : (() => { throw new RangeError('boom'); })()), clock: () => T0 });
    const other = { ...raw(0, 1), topic: buildTopic('water-meter', 'wm-2', 'telemetry'), payload: Buffer.from(JSON.stringify({ v: 1, id: 'wm-2', boot: 1, seq: 0, ts: T0, samples: [{ ts: T0, indexL: 1 }] })) };
    const outcomes = await p.handleBatch([raw(0, 1), other]);
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'dead-letter']);
    expect(outcomes[1]).toMatchObject({ reason: 'pipeline: step checkProvisioned failed: boom' });
  });

  it('rejects the whole batch (to be retried) when the store is down', async () => {
    const down: StorageWriter = { write: async () => Promise.reject(new IngestError('INGEST_ERR_STORAGE', 'InfluxDB is unreachable')), close: async () => {} };
    const p = createIngestPipeline({ writer: down, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => T0 });
    await expect(p.handleBatch([raw(0, 1), raw(1, 2)])).rejects.toThrow('unreachable');
    // Looking for poison does not mistake an outage for bad data: both halves fail, so nothing is blamed.
    await expect(p.handleBatch([raw(0, 1), raw(1, 2), raw(2, 3)], { isolatePoison: true })).rejects.toThrow('unreachable');
    expect(p.counters()).toMatchObject({ received: 0, storageErrors: 2 });
    expect(await store.operations.countDeadLetters()).toBe(0);
  });
});
