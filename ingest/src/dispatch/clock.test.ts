/**
 * Device clocks (issue 19 "One bad clock silences a meter"): samples stamped more than the allowed skew
 * ahead of the server clock are dead-lettered with the reason, the device's status shows its skew, and
 * "latest" never takes a value from the future. Times are hand-made; the server clock is injected.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { DuckDbReadingsReader } from '../storage/duckdb/readings.js';
import { createIngestPipeline, type IngestPipeline } from '../drain/pipeline.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const MIN = 60_000;
const Y2099 = Date.UTC(2099, 0, 1);
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const meter = buildTopic('water-meter', 'wm-1', 'telemetry');
const telemetry = (seq: number, samples: Array<{ ts: number } & Record<string, unknown>>, extra: object = {}) =>
  json({ v: 1, id: 'wm-1', boot: 1, seq, ts: samples[0]!.ts, samples, ...extra });

describe('device clocks', () => {
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let pipeline: IngestPipeline;
  let now = T0;
  const status = async () => (await store.operations.getStatus('wm-1'))?.clockSkewMs;

  beforeEach(async () => {
    now = T0;
    store = await openEmbeddedStore(':memory:', { latestNotAfter: () => now + 5 * MIN });
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter', attributes: { dma: 'nakano-3' } });
    pipeline = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock: () => now, maxClockSkewMs: 5 * MIN });
  });
  afterEach(async () => {
    await store.close();
    await registry.close();
  });

  it('dead-letters a sample stamped 2099 with the reason, shows the skew in the device status, and keeps "latest" on the true reading', async () => {
    expect(await pipeline.handle(meter, telemetry(0, [{ ts: T0 - MIN, indexL: 100 }]), T0)).toMatchObject({ kind: 'stored' });
    expect(await status()).toBe(-MIN); // sampled a minute before it arrived

    const outcome = await pipeline.handle(meter, telemetry(1, [{ ts: Y2099, indexL: 999_999 }]), T0);
    expect(outcome).toEqual({
      kind: 'dead-letter',
      reason: 'clock: stamped 2099-01-01T00:00:00.000Z, 72.1 years ahead of the server clock (2026-11-23T03:00:00.000Z); more than 300 s ahead is refused: the device\'s clock is wrong, set it (NTP)',
    });
    const [dl] = await store.operations.listDeadLetters({ limit: 1 });
    expect(dl).toMatchObject({ deviceId: 'wm-1', reason: (outcome as { reason: string }).reason });
    expect(await status()).toBe(Y2099 - T0); // the sign an operator needs: this meter's clock is 72 years ahead
    expect(await store.readings.latestReadings('wm-1', 'water-meter')).toEqual({ indexL: { value: 100, ts: T0 - MIN } });
  });

  it('allows up to the configured skew ahead, judged by the newest sample and against the injected clock', async () => {
    expect(await pipeline.handle(meter, telemetry(0, [{ ts: T0 + 4 * MIN, indexL: 100 }]), T0)).toMatchObject({ kind: 'stored' });
    expect(await status()).toBe(4 * MIN);
    // The envelope ts is fine, the last of three samples is 6 min ahead.
    const late = await pipeline.handle(meter, telemetry(1, [{ ts: T0 - 2 * MIN, indexL: 101 }, { ts: T0, indexL: 102 }, { ts: T0 + 6 * MIN, indexL: 103 }]), T0);
    expect(late).toMatchObject({ kind: 'dead-letter', reason: expect.stringMatching(/^clock: stamped 2026-11-23T03:06:00\.000Z, 6\.0 min ahead of the server clock/) });
    const event = await pipeline.handle(buildTopic('water-meter', 'wm-1', 'event'), json({ v: 1, id: 'wm-1', boot: 1, seq: 2, ts: T0 + 10 * MIN, type: 'tamper' }), T0);
    expect(event).toMatchObject({ kind: 'dead-letter', reason: expect.stringMatching(/^clock: stamped 2026-11-23T03:10:00\.000Z, 10\.0 min ahead/) });
    // Scenario runs and tests move the injected clock; the same sample is fine once the server clock is there.
    now = T0 + 10 * MIN;
    expect(await pipeline.handle(meter, telemetry(3, [{ ts: T0 + 11 * MIN, indexL: 104 }]), now)).toMatchObject({ kind: 'stored' });
  });

  it('measures the skew from live messages and births, not from a replay of old samples', async () => {
    await pipeline.handle(meter, telemetry(0, [{ ts: T0 - 2 * MIN, indexL: 100 }]), T0);
    expect(await status()).toBe(-2 * MIN);
    const replay = telemetry(1, [{ ts: T0 - 600 * MIN, indexL: 90 }], { replay: true });
    expect(await pipeline.handle(meter, replay, T0)).toMatchObject({ kind: 'stored' });
    expect(await status()).toBe(-2 * MIN);
    const birth = json({ v: 1, id: 'wm-1', state: 'online', boot: 2, ts: T0 + 30_000, fw: '1.0', model: 'WM', sampleSec: 900 });
    expect(await pipeline.handle(buildTopic('water-meter', 'wm-1', 'state'), birth, T0)).toMatchObject({ kind: 'state', online: true });
    expect(await status()).toBe(30_000);
    // A birth stamped far ahead still marks the device online (it is not a reading), and shows the skew.
    const wild = json({ v: 1, id: 'wm-1', state: 'online', boot: 3, ts: Y2099, fw: '1.0', model: 'WM', sampleSec: 900 });
    expect(await pipeline.handle(buildTopic('water-meter', 'wm-1', 'state'), wild, T0)).toMatchObject({ kind: 'state', online: true });
    expect(await status()).toBe(Y2099 - T0);
  });

  it('"latest" never takes a value from the future, even one stored before the check existed', async () => {
    await pipeline.handle(meter, telemetry(0, [{ ts: T0 - MIN, indexL: 100, batteryPct: 80 }]), T0);
    // As a store written before this check would hold it: straight through the writer.
    await store.writer.write([{ channel: 'telemetry', type: 'water-meter', deviceId: 'wm-1', receivedAt: T0, payload: { v: 1, id: 'wm-1', boot: 1, seq: 1, ts: Y2099, samples: [{ ts: Y2099, indexL: 999_999 }] } }]);
    expect(await store.readings.latestReadings('wm-1', 'water-meter')).toEqual({ indexL: { value: 100, ts: T0 - MIN }, batteryPct: { value: 80, ts: T0 - MIN } });
    // Without the bound the 2099 value wins: what the meter's detail page showed.
    expect((await new DuckDbReadingsReader(store.db).latestReadings('wm-1', 'water-meter')).indexL).toEqual({ value: 999_999, ts: Y2099 });

    await registry.provision({ id: 'rn-1', type: 'ring-node', attributes: { island: 'niijima' } });
    const ring = (seq: number, ts: number, state: string) => ({ channel: 'telemetry' as const, type: 'ring-node' as const, deviceId: 'rn-1', receivedAt: T0, payload: { v: 1 as const, id: 'rn-1', boot: 1, seq, ts, samples: [{ ts, segments: [{ id: 'toshima-niijima', state: state as 'up' }] }] } });
    await store.writer.write([ring(0, T0 - MIN, 'down'), ring(1, Y2099, 'up')]);
    expect(await store.readings.latestReadings('rn-1', 'ring-node')).toEqual({ segments: { value: [{ id: 'toshima-niijima', state: 'down' }], ts: T0 - MIN } });
  });
});
