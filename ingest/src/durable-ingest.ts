/**
 * The durable ingest path, wired: journal (where a message is safe before its PUBACK) → drainer (batches
 * into the store(s), with retries) → completeness ledger (persisted with the journal checkpoint).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { JournalDrainer, type DrainerStatus } from './drain/store-batcher.js';
import { mib } from './journal/free-space.js';
import { Journal, type JournalStats, type Refusal } from './journal/journal.js';
import { CompletenessLedger } from './ledger/ledger.js';
import { LedgerStore } from './storage/duckdb/ledger-store.js';
import type { IngestPipeline } from './drain/index.js';
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
}

export interface DurableStatus {
  stores: string[];
  /**
   * `broken`: why the journal takes no messages right now, in the operator's words (null while it takes
   * them); health reports degraded meanwhile. `refusal`: the same with its reason code
   * (`disk-space-low` | `write-failed`), since when, and the free space against the watermark.
   */
  journal: JournalStats & { broken: string | null; refusal: Refusal | null };
  drain: DrainerStatus;
}

export interface DurableIngest {
  journal: Journal;
  ledger: CompletenessLedger;
  writer: StorageWriter;
  /** Starts moving journalled messages into storage through `pipeline`. */
  startDraining(pipeline: IngestPipeline): void;
  status(): DurableStatus;
  /** Stops draining (the journal keeps the rest for the next start) and closes journal and writers. */
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
  let drainer: JournalDrainer | undefined;
  return {
    journal,
    ledger,
    writer,
    startDraining(pipeline) {
      drainer = new JournalDrainer({ journal, pipeline, ledger, ledgerStore, logger: log, batchSize: o.storage.batchSize, lingerMs: o.storage.lingerMs });
      drainer.start();
    },
    status: () => ({
      stores: o.storage.stores,
      journal: { ...journal.stats(), broken: journal.refused?.message ?? null, refusal: journal.refused ?? null },
      drain: drainer?.status() ?? { batches: 0, messages: 0, lastBatchSize: 0, lastBatchMs: 0, failures: 0, lastError: null, failingSince: null, halted: false },
    }),
    async close() {
      await drainer?.stop();
      await journal.close();
      await writer.close();
    },
  };
}
