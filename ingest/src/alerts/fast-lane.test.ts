import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { Journal } from '../journal/journal.js';
import type { Outcome } from '../dispatch/outcome.js';
import type { MessageContext } from '../dispatch/steps.js';
import type { StorageWriter } from '../storage/types.js';
import { createAlertFastLane } from './fast-lane.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);
const meter = (seq: number, alarms?: string[]) =>
  Buffer.from(JSON.stringify({ v: 1, id: 'wm-1', boot: 1, seq, ts: T0, samples: [{ ts: T0 + seq, indexL: 1000 + seq, ...(alarms ? { alarms } : {}) }] }));
const telemetry = buildTopic('water-meter', 'wm-1', 'telemetry');

describe('alert fast lane', () => {
  let dir: { path: string; remove(): void };
  let journal: Journal;
  let registry: MemoryDeviceRegistry;
  const seen = new Set<string>();
  const noStore: StorageWriter = { write: () => Promise.reject(new Error('the fast lane must not store')), close: async () => {} };

  beforeEach(async () => {
    dir = makeTempDir('fast-lane');
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

  function lane() {
    const got: Array<{ outcome: Outcome; ctx: MessageContext }> = [];
    const fast = createAlertFastLane({
      onOutcome: (outcome, ctx) => got.push({ outcome, ctx }),
      deps: { writer: noStore, operations: {} as never, getDevice: (id) => registry.getDevice(id), clock: () => T0, seen: (id, boot, seq) => seen.has(`${id}/${boot}/${seq}`) },
    });
    return { fast, got, sink: fast.wrap(journal) };
  }
  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('hands durable telemetry to the rules in journal order, with nothing stored and no drainer running', async () => {
    const { sink, got, fast } = lane();
    const queued = await Promise.all([0, 1, 2].map((seq) => sink.enqueue(telemetry, meter(seq, seq === 1 ? ['leak'] : undefined), T0)));
    await Promise.all(queued.map((q) => q.durable));
    await settle();
    expect(got.map((g) => g.outcome)).toEqual([0, 1, 2].map((seq) => ({ kind: 'stored', deviceId: 'wm-1', boot: 1, seq })));
    expect(got[1]!.ctx.message?.channel).toBe('telemetry');
    expect(fast.count()).toBe(3);
    // Still all in the journal: the rules did not wait for storage.
    expect(journal.stats().backlog).toBe(3);
  });

  it('skips what the drainer would not call stored: invalid, unprovisioned, commands, state, redeliveries', async () => {
    const { sink, got } = lane();
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
    await settle();
    expect(got.map((g) => g.outcome)).toEqual([{ kind: 'stored', deviceId: 'wm-1', boot: 1, seq: 8 }]);
  });

  it('hands its validation to the drainer once per record, and keeps none the drainer has passed', async () => {
    const { sink, fast } = lane();
    const first = await sink.enqueue(telemetry, meter(0), T0);
    await first.durable;
    await settle();
    const v = fast.takeValidated(1);
    expect(v?.outcome).toBeUndefined();
    expect(v?.ctx.message?.channel).toBe('telemetry');
    expect(fast.takeValidated(1)).toBeUndefined();
    const bad = await sink.enqueue(telemetry, Buffer.from('not json'), T0);
    await bad.durable;
    await settle();
    expect(fast.takeValidated(2)?.outcome).toMatchObject({ kind: 'dead-letter' });
    // The drainer already asked for record 5 (and validated it itself): a late offer is not kept.
    expect(fast.takeValidated(5)).toBeUndefined();
    for (let seq = 2; seq <= 4; seq++) await (await sink.enqueue(telemetry, meter(seq), T0)).durable;
    await settle();
    expect([3, 4, 5].map((lsn) => fast.takeValidated(lsn))).toEqual([undefined, undefined, undefined]);
  });

  it('leaves to the drainer state outcomes and what an earlier run journalled', () => {
    const { fast } = lane();
    const ctx = (fromEarlierRun?: boolean): MessageContext => ({ topicName: telemetry, payload: meter(0), receivedAt: T0, ...(fromEarlierRun ? { fromEarlierRun } : {}) });
    const stored: Outcome = { kind: 'stored', deviceId: 'wm-1', boot: 1, seq: 0 };
    expect(fast.drainerFeeds(stored, ctx())).toBe(false);
    expect(fast.drainerFeeds(stored, ctx(true))).toBe(true);
    expect(fast.drainerFeeds({ kind: 'state', deviceId: 'wm-1', online: true, stale: false }, ctx())).toBe(true);
  });
});
