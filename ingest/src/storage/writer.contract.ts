import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../errors.js';
import type { StorableMessage, StorageWriter } from './types.js';

export const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

function telemetry(type: DeviceType, deviceId: string, seq: number, samples: object[], boot = 3): StorableMessage {
  return { channel: 'telemetry', type, deviceId, payload: { v: 1, id: deviceId, boot, seq, ts: (samples[0] as { ts: number }).ts, samples } as never, receivedAt: T0 + 5000 };
}

/** One message of each device type (two samples where a type has several), and an event: 7 points of telemetry. */
export function contractBatch(prefix: string): StorableMessage[] {
  return [
    telemetry('smart-pole', `${prefix}-pole`, 0, [{ ts: T0, airTempC: 21.5, doorOpen: false, fiveG: 'up' }, { ts: T0 + 60_000, airTempC: 22, doorOpen: true }]),
    telemetry('water-meter', `${prefix}-meter`, 0, [{ ts: T0, indexL: 1000, flowLph: 12.5, alarms: ['leak'] }, { ts: T0 + 60_000, indexL: 1002, alarms: [] }]),
    telemetry('bs-power', `${prefix}-plant`, 0, [{ ts: T0, mains: 'off', batterySocPct: 81, batteryV: 51.2, loadA: 42.5 }]),
    telemetry('ring-node', `${prefix}-ring`, 0, [{ ts: T0, segments: [{ id: 'oshima-toshima', state: 'down' }, { id: 'oshima-miyakejima', state: 'degraded', rxDbm: -14.5 }] }]),
    { channel: 'event', type: 'bs-power', deviceId: `${prefix}-plant`, payload: { v: 1, id: `${prefix}-plant`, boot: 3, seq: 1, ts: T0 + 1000, type: 'mains_lost', detail: { phase: 'L1' } } as never, receivedAt: T0 + 5000 },
  ];
}

/** Telemetry points a contract batch holds, per device (a ring node's: one per segment). */
const POINTS: Record<string, number> = { pole: 2, meter: 2, plant: 1, ring: 2 };
const TYPES: Record<string, DeviceType> = { pole: 'smart-pole', meter: 'water-meter', plant: 'bs-power', ring: 'ring-node' };

export interface WriterUnderTest {
  writer: StorageWriter;
  /**
   * The telemetry points the store holds of one device, as (boot, seq, ts), one per sample (a ring node's:
   * per segment). A store that shows writes after a moment (VictoriaMetrics) may wait for `atLeast`.
   */
  points(deviceId: string, type: DeviceType, atLeast: number): Promise<Array<{ boot: number; seq: number; ts: number }>>;
  /** Whether the store itself reports a redelivery as `duplicate` (DuckDB), or cannot tell (InfluxDB overwrites). */
  tellsDuplicates: boolean;
  /** A writer of the same kind whose store cannot be reached; absent where the store lives in the process. */
  unreachable?: () => StorageWriter;
  dispose(): Promise<void>;
}

/**
 * The behaviour every StorageWriter must have (storage/types.ts), run against each implementation: the
 * embedded DuckDB (storage/duckdb/writer.test.ts), InfluxDB 1.x through /write, InfluxDB 2.x API on
 * VictoriaMetrics, and the fan-out over several (test/storage-writers.test.ts, real servers). `open`
 * gives a fresh store each time. Style: edge-agent/src/buffer/buffer.contract.ts.
 */
export function storageWriterContract(name: string, open: () => Promise<WriterUnderTest>): void {
  describe(`StorageWriter contract: ${name}`, () => {
    const holds = async (s: WriterUnderTest, prefix: string) => {
      const out: Record<string, number> = {};
      for (const [k, n] of Object.entries(POINTS)) out[k] = (await s.points(`${prefix}-${k}`, TYPES[k]!, n)).length;
      return out;
    };

    it('takes a batch of every device type, answers one outcome per message in order, and holds every sample once it resolves', async () => {
      const s = await open();
      try {
        const outcomes = await s.writer.write(contractBatch('a'));
        expect(outcomes).toEqual(['stored', 'stored', 'stored', 'stored', 'stored']);
        expect(await holds(s, 'a')).toEqual(POINTS);
        const pole = await s.points('a-pole', 'smart-pole', 2);
        expect(pole.map((p) => [p.boot, p.seq, p.ts]).sort((x, y) => x[2]! - y[2]!)).toEqual([[3, 0, T0], [3, 0, T0 + 60_000]]);
      } finally {
        await s.dispose();
      }
    });

    it('is idempotent per (deviceId, boot, seq): the same batch again adds no point, and a store that can tell says duplicate', async () => {
      const s = await open();
      try {
        await s.writer.write(contractBatch('b'));
        const again = await s.writer.write(contractBatch('b'));
        expect(again).toHaveLength(5);
        if (s.tellsDuplicates) expect(again).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
        else expect(again.every((o) => o === 'stored' || o === 'duplicate')).toBe(true);
        expect(await holds(s, 'b')).toEqual(POINTS);
      } finally {
        await s.dispose();
      }
    });

    it('stores a message given twice in one batch once, and answers for both', async () => {
      const s = await open();
      try {
        const [pole] = contractBatch('c');
        const outcomes = await s.writer.write([pole!, pole!]);
        expect(outcomes).toHaveLength(2);
        expect(outcomes[0]).toBe('stored');
        expect((await s.points('c-pole', 'smart-pole', 2)).length).toBe(2);
      } finally {
        await s.dispose();
      }
    });

    it('answers an empty batch with no outcome', async () => {
      const s = await open();
      try {
        expect(await s.writer.write([])).toEqual([]);
      } finally {
        await s.dispose();
      }
    });

    it('fails a batch for a store it cannot reach with an IngestError worth retrying, naming the store', async (ctx) => {
      const s = await open();
      try {
        if (!s.unreachable) return ctx.skip();
        const down = s.unreachable();
        const err = await down.write(contractBatch('d')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(IngestError);
        expect((err as IngestError).code).toBe('INGEST_ERR_STORAGE');
        expect((err as IngestError).canRetry()).toBe(true);
        await down.close();
      } finally {
        await s.dispose();
      }
    });
  });
}
