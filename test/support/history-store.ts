/**
 * An embedded store fed through the real ingest pipeline, recording what it stored in the completeness
 * ledger as the drainer does (history retention tests: a redelivery must be found a duplicate by the
 * ledger whichever tier holds its original).
 */
import type { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { CompletenessLedger } from '../../ingest/src/ledger/ledger.js';
import { createIngestPipeline } from '../../ingest/src/drain/pipeline.js';
import { openEmbeddedStore, type EmbeddedStore } from '../../ingest/src/storage/duckdb/index.js';
import type { HistorySettings } from '../../ingest/src/storage/duckdb/history/history-config.js';

export interface PipedStore {
  store: EmbeddedStore;
  /** Handles one MQTT message as the ingest would, at the clock's time. */
  send(topic: string, payload: object): ReturnType<ReturnType<typeof createIngestPipeline>['handle']>;
}

export async function openPipedStore(dir: string, settings: HistorySettings, registry: MemoryDeviceRegistry, ledger: CompletenessLedger, clock: () => number): Promise<PipedStore> {
  const store = await openEmbeddedStore(dir, { history: settings, clock, attributes: (id) => registry.getDevice(id)?.attributes });
  const pipeline = createIngestPipeline({ writer: store.writer, operations: store.operations, getDevice: (id) => registry.getDevice(id), clock, seen: (id, b, s) => ledger.has(id, b, s) });
  return {
    store,
    send: async (topic, payload) => {
      const outcome = await pipeline.handle(topic, Buffer.from(JSON.stringify(payload)), clock());
      if (outcome.kind === 'stored' || outcome.kind === 'duplicate') ledger.record(outcome.deviceId, outcome.boot, outcome.seq, clock());
      return outcome;
    },
  };
}

/** A water meter's telemetry: one sample, its register 7 L a sequence number apart. */
export const meterReading = (id: string, seq: number, ts: number) => ({ v: 1, id, boot: 1, seq, ts, samples: [{ ts, indexL: 1000 + seq * 7, flowLph: seq % 4, batteryPct: 90 }] });
