import { HttpError, InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { StorableMessage, StorageWriter, WriteOutcome } from '../types.js';
import { chunkLines, writeError } from './errors.js';
import { messageLines, SeriesKeyCache, type DeviceAttributes } from './line-protocol.js';

export interface InfluxV2Options {
  /** InfluxDB 1.8+/2.x/3.x or VictoriaMetrics base URL (env INFLUX_URL). */
  url: string;
  /** API token (env INFLUX_TOKEN); VictoriaMetrics ignores it. */
  token?: string;
  /** Organisation and bucket (env INFLUX_ORG, INFLUX_BUCKET). For InfluxDB 1.8, bucket is `db/rp`. */
  org: string;
  bucket: string;
  attributes: DeviceAttributes;
  /** Lines per HTTP request. Default 5,000. */
  maxLinesPerRequest?: number;
  /** Bytes per HTTP request. Default 4 MiB. */
  maxBytesPerRequest?: number;
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
  /** Write string fields (event detail); set false for VictoriaMetrics. Default true. */
  stringFields?: boolean;
  logger?: Logger;
}

/**
 * The v2 write API (`/api/v2/write`, precision ms) through @influxdata/influxdb-client. The client's own
 * batching, timer and retry buffer are switched off: the ingest's journal drainer decides batches and
 * retries, so a PUBACKed message is never held only in this client's memory.
 */
export class InfluxV2Writer implements StorageWriter {
  private readonly seriesKeys = new SeriesKeyCache();
  private readonly api: WriteApi;

  constructor(private readonly o: InfluxV2Options) {
    const log = o.logger;
    // The library logs failed writes to the console by default; ours go through the drainer's log instead.
    setLogger({ error: (message, err) => log?.debug({ err, event: 'influx_client' }, message), warn: (message, err) => log?.debug({ err, event: 'influx_client' }, message) });
    this.api = new InfluxDB({ url: o.url, token: o.token ?? '', timeout: o.timeoutMs ?? 10_000 }).getWriteApi(o.org, o.bucket, 'ms', {
      // Above what write() hands over in one flush (chunkLines), so the client never flushes on its own.
      batchSize: 100_000,
      maxBatchBytes: 64 * 1024 * 1024,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 100_000,
      writeFailed: () => undefined,
    });
  }

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    const lines = messages.flatMap((m) => messageLines(m, this.o.attributes, { stringFields: this.o.stringFields ?? true, seriesKeys: this.seriesKeys }));
    for (const chunk of chunkLines(lines, this.o.maxLinesPerRequest ?? 5000, this.o.maxBytesPerRequest ?? 4 * 1024 * 1024)) {
      this.api.writeRecords(chunk);
      try {
        await this.api.flush();
      } catch (err) {
        const status = err instanceof HttpError ? err.statusCode : undefined;
        const detail = err instanceof HttpError ? (err.body ?? err.message) : (err as Error).message;
        throw writeError(`InfluxDB v2 API at ${this.o.url}`, status, detail, err);
      }
    }
    return messages.map(() => 'stored');
  }

  async close(): Promise<void> {
    await this.api.close().catch(() => undefined);
  }
}
