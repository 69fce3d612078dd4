import { IngestError } from '../errors.js';
import type { StorableMessage, StorageWriter, WriteOutcome } from './types.js';

/**
 * Writes every batch to several stores (e.g. DuckDB and InfluxDB), in parallel. The batch counts as
 * stored only when every store took it; otherwise the whole batch is retried, which is safe because each
 * writer is idempotent. Outcomes (stored / duplicate) are the first store's.
 */
export class FanOutWriter implements StorageWriter {
  constructor(private readonly writers: readonly StorageWriter[]) {
    if (writers.length === 0) throw new IngestError('INGEST_ERR_CONFIG', 'at least one store is needed');
  }

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    if (this.writers.length === 1) return this.writers[0]!.write(messages);
    const results = await Promise.allSettled(this.writers.map((w) => w.write(messages)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    // A store that is down wins over one that rejects the data: retry first, bisect when all are up.
    const worthRetrying = errors.find((e) => !(e instanceof IngestError) || e.canRetry());
    if (worthRetrying) throw worthRetrying;
    if (errors.length > 0) throw errors[0];
    return (results[0] as PromiseFulfilledResult<WriteOutcome[]>).value;
  }

  async close(): Promise<void> {
    for (const w of this.writers) await w.close();
  }
}
