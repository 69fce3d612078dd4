import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { createIngestPipeline } from '../drain/pipeline.js';
import { StoreQueue } from '../drain/store-queue.js';
import { openDurableIngest, type DurableIngest } from '../durable-ingest.js';
import { intakeSink } from '../intake/sink.js';
import { Journal } from '../journal/journal.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { loadStorageConfig } from '../storage/store-config.js';
import { Dispatcher } from './dispatcher.js';
import type { Accepted, Outcome } from './outcome.js';
import { validateBatch } from './validate.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);
const meter = (seq: number, alarms?: string[]) =>
  Buffer.from(JSON.stringify({ v: 1, id: 'wm-1', boot: 1, seq, ts: T0, samples: [{ ts: T0 + seq, indexL: 1000 + seq, ...(alarms ? { alarms } : {}) }] }));
const telemetry = buildTopic('water-meter', 'wm-1', 'telemetry');
const logger = pino({ level: 'silent' });

describe('dispatcher', () => {
  let dir: { path: string; remove(): void };
  let journal: Journal;
  let registry: MemoryDeviceRegistry;
  const seen = new Set<string>();

  beforeEach(async () => {
    dir = makeTempDir('dispatcher');
    journal = await Journal.open({ dir: dir.path });
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter', secret: null });
    seen.clear();
  });
  afterEach(async () => {
    await journal.close();
    await registry.close();
    dir.remove();
  });

  function dispatcher(j: Journal = journal) {
    const accepted: Accepted[] = [];
    const queue = new StoreQueue();
    const d = new Dispatcher({
      journal: j,
      validate: (records) => validateBatch(records, { getDevice: (id) => registry.getDevice(id), clock: () => T0 }),
      toStore: (firstLsn, batch) => queue.push(firstLsn, batch),
      onAccepted: (a) => accepted.push(a),
      seen: (id, boot, seq) => seen.has(`${id}/${boot}/${seq}`),
      logger,
    });
    d.start();
    return { d, accepted, queue };
  }

  it('tells the rules of durable telemetry in journal order at once, with nothing stored', async () => {
    const { d, accepted, queue } = dispatcher();
    const queued = await Promise.all([0, 1, 2].map((seq) => journal.enqueue(telemetry, meter(seq, seq === 1 ? ['leak'] : undefined), T0)));
    await Promise.all(queued.map((q) => q.durable));
    await waitFor('three accepted', () => accepted.length === 3, 2000, 5);
    expect(accepted.map((a) => [a.message.payload.seq, a.replayed])).toEqual([[0, false], [1, false], [2, false]]);
    expect(accepted[1]!.message.channel).toBe('telemetry');
    expect(d.status()).toMatchObject({ messages: 3, accepted: 3, lastLsn: 3 });
    // Still all in the journal, waiting for the store: the rules did not wait for it.
    expect(journal.stats().backlog).toBe(3);
    expect(queue.size).toBe(3);
    await d.stop();
  });

  it('tells the rules nothing the store batch would not call stored: invalid, unprovisioned, state, redeliveries; commands never reach the journal', async () => {
    const { d, accepted, queue } = dispatcher();
    const sink = intakeSink(journal);
    seen.add('wm-1/1/7');
    const inputs: Array<[string, Buffer]> = [
      [telemetry, Buffer.from('{"v":1,')],
      [buildTopic('water-meter', 'wm-unknown', 'telemetry'), Buffer.from(JSON.stringify({ v: 1, id: 'wm-unknown', boot: 1, seq: 0, ts: T0, samples: [{ ts: T0, indexL: 1 }] }))],
      [buildTopic('water-meter', 'wm-1', 'cmd'), Buffer.from(JSON.stringify({ v: 1, cmdId: 'c1', name: 'ping', ts: T0 }))],
      [buildTopic('water-meter', 'wm-1', 'state'), Buffer.from(JSON.stringify({ v: 1, id: 'wm-1', state: 'online', boot: 1, ts: T0, fw: '1', model: 'm', sampleSec: 3600 }))],
      [telemetry, meter(7)],
      [telemetry, meter(8)],
    ];
    for (const [t, p] of inputs) await (await sink.enqueue(t, p, T0)).durable;
    await waitFor('every journalled message dispatched', () => d.status().messages === 5, 2000, 5);
    expect(accepted.map((a) => a.message.payload.seq)).toEqual([8]);
    expect(sink.skippedCommands()).toBe(1);
    expect(queue.size).toBe(5); // the rest goes on to the store batch, which dead-letters or records it
    await d.stop();
  });

  it('marks what an earlier run journalled as replayed', async () => {
    for (const seq of [0, 1]) await journal.append(telemetry, meter(seq), T0);
    await journal.close();
    journal = await Journal.open({ dir: dir.path });
    await journal.append(telemetry, meter(2), T0);
    const { d, accepted } = dispatcher();
    await waitFor('three accepted', () => accepted.length === 3, 2000, 5);
    expect(accepted.map((a) => [a.message.payload.seq, a.replayed])).toEqual([[0, true], [1, true], [2, false]]);
    await d.stop();
  });
});

describe('dispatcher and store batch, wired', () => {
  let dir: { path: string; remove(): void };
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let durable: DurableIngest | undefined;
  beforeEach(async () => {
    dir = makeTempDir('dispatch-drain');
    store = await openEmbeddedStore(':memory:');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter', secret: null });
  });
  afterEach(async () => {
    await durable?.close();
    await store.close();
    await registry.close();
    dir.remove();
  });

  async function run(n: number, storeQueue: { maxMessages?: number }) {
    let lookups = 0;
    const outcomes: Outcome[] = [];
    const accepted: Accepted[] = [];
    durable = await openDurableIngest({ dataDir: dir.path, store, storage: loadStorageConfig({ INGEST_BATCH_SIZE: '10', INGEST_BATCH_LINGER_MS: '0' }), attributes: () => undefined, logger, storeQueue });
    const deps = { writer: durable.writer, operations: store.operations, getDevice: (id: string) => (lookups++, registry.getDevice(id)), clock: () => T0, seen: (id: string, boot: number, seq: number) => durable!.ledger.has(id, boot, seq) };
    const pipeline = createIngestPipeline(deps, { logger, onOutcome: (o) => outcomes.push(o) });
    durable.start({ pipeline, onAccepted: (a) => accepted.push(a) });
    for (let seq = 0; seq < n; seq++) await durable.sink.enqueue(telemetry, meter(seq), T0);
    await waitFor('every message stored', () => outcomes.length === n && durable!.status().journal.backlog === 0, 10_000, 10);
    return { lookups, outcomes, accepted, status: durable.status() };
  }

  it('validates each message once: the store batch takes what the dispatcher validated', async () => {
    const { lookups, outcomes, accepted, status } = await run(60, {});
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
    expect(accepted).toHaveLength(60);
    expect(lookups).toBe(60); // one provisioning check per message
    expect(status.drain.reread).toBe(0);
    expect(durable!.ledger.device('wm-1')).toMatchObject([{ boot: 1, received: 60, gaps: [], missing: 0 }]);
  });

  it('with the store queue full, the store batch reads the rest again from the journal and validates it itself; nothing is lost', async () => {
    const { lookups, outcomes, accepted, status } = await run(60, { maxMessages: 2 });
    expect(outcomes.map((o) => (o.kind === 'stored' ? o.seq : -1))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(accepted).toHaveLength(60); // the rules heard of every one, at once
    expect(status.drain.reread).toBeGreaterThan(0);
    expect(lookups).toBe(60 + status.drain.reread);
    expect(durable!.ledger.device('wm-1')).toMatchObject([{ boot: 1, received: 60, gaps: [], missing: 0 }]);
  });
});
