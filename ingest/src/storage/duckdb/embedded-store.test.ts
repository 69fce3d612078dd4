import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bsPowerSample, smartPoleSample, waterMeterSample, type Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type EmbeddedStore } from './index.js';
import { SAMPLE_COLUMNS } from './sample-columns.js';
import type { StorableMessage } from '../types.js';

const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);

function telemetry(type: StorableMessage['type'], deviceId: string, seq: number, samples: object[], boot = 1): StorableMessage {
  const payload = { v: 1, id: deviceId, boot, seq, ts: (samples[0] as { ts: number }).ts, samples } as Telemetry;
  return { channel: 'telemetry', type, deviceId, payload, receivedAt: T0 + 1 };
}

describe('embedded DuckDB store', () => {
  let dir: string;
  let store: EmbeddedStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsunagaru-store-'));
    store = await openEmbeddedStore(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a column for every reading the contract defines (no field can be dropped on the floor)', () => {
    const shapeKeys = (schema: { def: { in?: unknown } } | object) => {
      // A refined object (smart-pole, bs-power) wraps its object schema; read the shape through zod's API.
      const s = schema as { shape?: Record<string, unknown>; def?: { schema?: { shape: Record<string, unknown> } } };
      return Object.keys(s.shape ?? s.def?.schema?.shape ?? {}).filter((k) => k !== 'ts');
    };
    expect(SAMPLE_COLUMNS['smart-pole'].map((c) => c.name).sort()).toEqual(shapeKeys(smartPoleSample).sort());
    expect(SAMPLE_COLUMNS['water-meter'].map((c) => c.name).sort()).toEqual(shapeKeys(waterMeterSample).sort());
    expect(SAMPLE_COLUMNS['bs-power'].map((c) => c.name).sort()).toEqual(shapeKeys(bsPowerSample).sort());
  });

  it('stores a message once per (id, boot, seq) and reports the redelivery as a duplicate', async () => {
    const m = telemetry('water-meter', 'wm-1', 7, [{ ts: T0, indexL: 1234, flowLph: 12.5 }]);
    expect(await store.writer.write([m])).toEqual(['stored']);
    expect(await store.writer.write([m, m])).toEqual(['duplicate', 'duplicate']);
    const otherBoot = telemetry('water-meter', 'wm-1', 7, [{ ts: T0 + 1000, indexL: 1235 }], 2);
    expect(await store.writer.write([otherBoot])).toEqual(['stored']);
    const rows = await store.readings.readings('wm-1', 'water-meter', { from: T0 - 1, to: T0 + 10_000, limit: 100 });
    expect(rows.map((r) => [r.boot, r.seq, r.indexL])).toEqual([
      [1, 7, 1234],
      [2, 7, 1235],
    ]);
  });

  it('reads back every field of every type exactly as sent', async () => {
    const pole = { ts: T0, airTempC: 21.5, humidityPct: 55, noiseDb: 61.2, pm25: 8, peopleCount: 120, wifiClients: 33, fiveG: 'up', powerW: 410, cabinetTempC: 30.1, doorOpen: false };
    const meter = { ts: T0, indexL: 9_007_199_254_740, flowLph: -3.5, batteryPct: 88, alarms: ['leak', 'backflow'] };
    const bs = { ts: T0, mains: 'off', rectifierV: 0, loadA: 42.5, batterySocPct: 81, batteryV: 51.2, batteryA: -42.5, batteryTempC: 24, batterySohPct: 96, batteryCapacityAh: 400, generator: 'fault', fuelPct: 12, backhaul: 'satellite', runtimeMin: 310 };
    const ring = { ts: T0, segments: [{ id: 'oshima-toshima', state: 'down', supervisory: 'up' }, { id: 'oshima-miyakejima', state: 'up', rxDbm: -14.5 }] };
    await store.writer.write([
      telemetry('smart-pole', 'p1', 0, [pole]),
      telemetry('water-meter', 'm1', 0, [meter]),
      telemetry('bs-power', 'b1', 0, [bs]),
      telemetry('ring-node', 'r1', 0, [ring, { ...ring, ts: T0 + 60_000 }]),
    ]);
    const q = { from: T0, to: T0 + 120_000, limit: 10 };
    const strip = ({ boot: _b, seq: _s, replay: _r, ...rest }: Record<string, unknown>) => rest;
    expect((await store.readings.readings('p1', 'smart-pole', q)).map(strip)).toEqual([pole]);
    expect((await store.readings.readings('m1', 'water-meter', q)).map(strip)).toEqual([meter]);
    expect((await store.readings.readings('b1', 'bs-power', q)).map(strip)).toEqual([bs]);
    const ringRows = (await store.readings.readings('r1', 'ring-node', q)).map(strip);
    expect(ringRows).toHaveLength(2);
    expect(ringRows[0]).toEqual({ ts: T0, segments: [{ id: 'oshima-miyakejima', state: 'up', rxDbm: -14.5 }, { id: 'oshima-toshima', state: 'down', supervisory: 'up' }] });
    const latest = await store.readings.latestReadings('b1', 'bs-power');
    expect(latest.batterySocPct).toEqual({ value: 81, ts: T0 });
    expect(latest.generator).toEqual({ value: 'fault', ts: T0 });
  });

  it('keeps the last known value of each reading, even when the newest sample lacks it', async () => {
    await store.writer.write([
      telemetry('smart-pole', 'p2', 0, [{ ts: T0, airTempC: 20, doorOpen: true }]),
      telemetry('smart-pole', 'p2', 1, [{ ts: T0 + 60_000, airTempC: 22 }]),
    ]);
    const latest = await store.readings.latestReadings('p2', 'smart-pole');
    expect(latest.airTempC).toEqual({ value: 22, ts: T0 + 60_000 });
    expect(latest.doorOpen).toEqual({ value: true, ts: T0 });
  });

  it('survives a close and reopen with everything in it', async () => {
    await store.writer.write([telemetry('water-meter', 'm9', 3, [{ ts: T0, indexL: 5 }])]);
    await store.close();
    store = await openEmbeddedStore(dir);
    expect(await store.writer.write([telemetry('water-meter', 'm9', 3, [{ ts: T0, indexL: 5 }])])).toEqual(['duplicate']);
    expect(await store.readings.readings('m9', 'water-meter', { from: T0, to: T0 + 1, limit: 5 })).toHaveLength(1);
  });

  it('treats a death from an older boot than the latest birth as a late will', async () => {
    const birth = (boot: number) => ({ v: 1 as const, id: 'd1', state: 'online' as const, boot, ts: T0, fw: '1.0', model: 'x', sampleSec: 60 });
    await store.operations.recordState({ deviceId: 'd1', type: 'bs-power', state: birth(4), receivedAt: T0 });
    const late = await store.operations.recordState({ deviceId: 'd1', type: 'bs-power', state: { v: 1, id: 'd1', state: 'offline', boot: 3 }, receivedAt: T0 + 1 });
    expect(late.stale).toBe(true);
    expect(late.status.online).toBe(true);
    const death = await store.operations.recordState({ deviceId: 'd1', type: 'bs-power', state: { v: 1, id: 'd1', state: 'offline', boot: 4 }, receivedAt: T0 + 2 });
    expect(death.stale).toBe(false);
    expect(death.status.online).toBe(false);
    expect(death.status.fw).toBe('1.0');
  });

  it('bounds the dead-letter store, pruning the oldest', async () => {
    await store.close();
    store = await openEmbeddedStore(dir, { maxDeadLetters: 100 });
    for (let i = 0; i < 150; i++) {
      await store.operations.addDeadLetter({ receivedAt: T0 + i, topic: 't', payload: `p${i}`, payloadBytes: 3, truncated: false, reason: `r${i}`, deviceId: null });
    }
    const count = await store.operations.countDeadLetters();
    expect(count).toBeGreaterThanOrEqual(100);
    expect(count).toBeLessThan(110);
    const [newest] = await store.operations.listDeadLetters({ limit: 1 });
    expect(newest?.reason).toBe('r149');
  });
});
