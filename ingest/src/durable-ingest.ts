/**
 * The message's way after the ways in, wired: journal (where a message is safe before its PUBACK) →
 * dispatcher (validates each durable record once; `accepted` to the alert rules at once) → store queue →
 * store batcher (batches into the store(s), with retries; outcomes) → completeness ledger (persisted with
 * the journal checkpoint) → journal released.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Dispatcher, type DispatcherStatus } from './dispatch/dispatcher.js';
import type { Accepted } from './dispatch/outcome.js';
import { StoreBatcher, type DrainerStatus } from './drain/store-batcher.js';
import { StoreQueue } from './drain/store-queue.js';
import { intakeSink, type IntakeSink } from './intake/sink.js';
import { mib } from './journal/free-space.js';
import { Journal, type JournalStats, type Refusal } from './journal/journal.js';
import { CompletenessLedger } from './ledger/ledger.js';
import { LedgerStore } from './storage/duckdb/ledger-store.js';
import type { IngestPipeline } from './drain/pipeline.js';
import type { EmbeddedStore } from './storage/duckdb/index.js';
import type { DeviceAttributes } from './storage/influx/line-protocol.js';
import { openWriters } from './storage/open-writers.js';
import type { StorageConfig } from './storage/store-config.js';
import type { StorageWriter } from './storage/types.js';

export interface DurableIngestOptions {
  dataDir: string;
  store: EmbeddedStore;
  storage: StorageConfig;
  attributes: DeviceAttributes;
  logger: Logger;
  /** Told when the journal stops taking messages (why) and when it takes them again (null): the alert rules. */
  onRefusal?: (refusal: Refusal | null) => void;
  /** Bounds of what waits validated for the store (drain/store-queue.ts); default STORE_QUEUE_DEFAULTS. */
  storeQueue?: ConstructorParameters<typeof StoreQueue>[0];
}

export interface DurableStatus {
  stores: string[];
  /**
   * `broken`: why the journal takes no messages right now, in the operator's words (null while it takes
   * them); health reports degraded meanwhile. `refusal`: the same with its reason code
   * (`disk-space-low` | `write-failed`), since when, and the free space against the watermark.
   */
  journal: JournalStats & { broken: string | null; refusal: Refusal | null };
  /** Commands the ways in saw and kept out of the journal (intake/sink.ts). */
  intake: { skippedCommands: number };
  dispatch: DispatcherStatus;
  drain: DrainerStatus;
}

export interface DurableIngest {
  journal: Journal;
  ledger: CompletenessLedger;
  writer: StorageWriter;
  /** Where the ways in hand their messages: the journal, commands skipped (intake/sink.ts). */
  sink: IntakeSink;
  /**
   * Starts the dispatcher (validation and `onAccepted` through `pipeline`'s steps, at once) and the store
   * batcher (`pipeline` stores; its onOutcome hears each outcome).
   */
  start(o: { pipeline: IngestPipeline; onAccepted?: (accepted: Accepted) => void }): void;
  status(): DurableStatus;
  /** Stops dispatching and storing (the journal keeps the rest for the next start) and closes journal and writers. */
  close(): Promise<void>;
}

export const journalDirFor = (dataDir: string) => join(dataDir, 'journal');

export async function openDurableIngest(o: DurableIngestOptions): Promise<DurableIngest> {
  const log = o.logger;
  const ledgerStore = new LedgerStore(o.store.db);
  const ledger = new CompletenessLedger(await ledgerStore.load());
  const releasedLsn = await ledgerStore.releasedLsn();
  const journal = await Journal.open({
    dir: journalDirFor(o.dataDir),
    releasedLsn,
    maxBytes: o.storage.journalMaxBytes,
    onProblem: (p) => log.error({ event: 'journal_repaired', ...p }, `journal: ${p.reason} at ${p.path}:${p.offset} (${p.bytes} bytes cut)`),
    minFreeBytes: o.storage.journalMinFreeBytes,
    onRefusal: (r) => {
      if (r) log.error({ event: 'journal_refusing', reason: r.reason, freeBytes: r.freeBytes, minFreeBytes: r.minFreeBytes }, r.message);
      else log.warn({ event: 'journal_accepting', freeBytes: journal.stats().freeBytes }, `the journal takes messages again (${mib(journal.stats().freeBytes)} free)`);
      o.onRefusal?.(r);
    },
  });
  const backlog = journal.stats().backlog;
  if (backlog > 0) log.warn({ event: 'journal_replay', messages: backlog, fromLsn: releasedLsn + 1 }, `replaying ${backlog} journalled messages not yet stored`);
  const writer = openWriters(o.storage, o.store, o.attributes, log);
  const sink = intakeSink(journal);
  const queue = new StoreQueue(o.storeQueue);
  let dispatcher: Dispatcher | undefined;
  let batcher: StoreBatcher | undefined;
  return {
    journal,
    ledger,
    writer,
    sink,
    start({ pipeline, onAccepted }) {
      const validate = pipeline.prepareBatch;
      const seen = (id: string, boot: number, seq: number) => ledger.has(id, boot, seq);
      dispatcher = new Dispatcher({ journal, validate, toStore: (firstLsn, batch) => queue.push(firstLsn, batch), seen, logger: log, readSize: o.storage.batchSize, ...(onAccepted ? { onAccepted } : {}) });
      batcher = new StoreBatcher({ queue, journal, validate, pipeline, ledger, ledgerStore, logger: log, batchSize: o.storage.batchSize, lingerMs: o.storage.lingerMs });
      dispatcher.start();
      batcher.start();
    },
    status: () => ({
      stores: o.storage.stores,
      journal: { ...journal.stats(), broken: journal.refused?.message ?? null, refusal: journal.refused ?? null },
      intake: { skippedCommands: sink.skippedCommands() },
      dispatch: dispatcher?.status() ?? { messages: 0, accepted: 0, lastLsn: 0, halted: false, lastError: null },
      drain: batcher?.status() ?? { batches: 0, messages: 0, lastBatchSize: 0, lastBatchMs: 0, failures: 0, lastError: null, failingSince: null, halted: false, queued: 0, reread: 0 },
    }),
    async close() {
      await dispatcher?.stop();
      await batcher?.stop();
      await journal.close();
      await writer.close();
    },
  };
}
