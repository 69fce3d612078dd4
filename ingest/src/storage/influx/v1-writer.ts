import type { StorableMessage, StorageWriter, WriteOutcome } from '../types.js';
import { chunkLines, writeError } from './errors.js';
import { messageLines, SeriesKeyCache, type DeviceAttributes } from './line-protocol.js';

export interface InfluxV1Options {
  /** Base URL of InfluxDB 1.x, e.g. http://127.0.0.1:8086 (env INFLUX_URL). */
  url: string;
  /** Database (env INFLUX_DB). */
  db: string;
  /** Retention policy; the database's default when absent (env INFLUX_RP). */
  rp?: string;
  /** Credentials, sent as HTTP Basic auth (env INFLUX_USER, INFLUX_PASSWORD). */
  user?: string;
  password?: string;
  /** Registry attributes of a device, for the attribute tags. */
  attributes: DeviceAttributes;
  /** Lines per HTTP request. Default 5,000. */
  maxLinesPerRequest?: number;
  /** Bytes per HTTP request. Default 4 MiB (InfluxDB's max-body-size is 25 MB). */
  maxBytesPerRequest?: number;
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
  stringFields?: boolean;
}

/** InfluxDB 1.x `/write` (line protocol, precision ms). Idempotent: a rewrite overwrites the same points. */
export class InfluxV1Writer implements StorageWriter {
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly seriesKeys = new SeriesKeyCache();

  constructor(private readonly o: InfluxV1Options) {
    const q = new URLSearchParams({ db: o.db, precision: 'ms', ...(o.rp ? { rp: o.rp } : {}) });
    this.endpoint = `${o.url.replace(/\/+$/, '')}/write?${q.toString()}`;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (o.user) this.headers.authorization = `Basic ${Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64')}`;
  }

  async write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]> {
    const lines = messages.flatMap((m) => messageLines(m, this.o.attributes, { stringFields: this.o.stringFields ?? true, seriesKeys: this.seriesKeys }));
    const chunks = chunkLines(lines, this.o.maxLinesPerRequest ?? 5000, this.o.maxBytesPerRequest ?? 4 * 1024 * 1024);
    // Two requests in flight: InfluxDB parses one body while the next is on its way, which one at a time
    // left both sides idle half the time (bench ingest-e2e, replay shape). A failure fails the batch (after
    // the other request settles); the drainer retries it whole, which is safe because a rewrite overwrites.
    let next = 0;
    let failing = false;
    const lane = async () => {
      try {
        while (next < chunks.length && !failing) await this.post(chunks[next++]!.join('\n'));
      } catch (err) {
        failing = true; // the other lane stops too: the whole batch is retried anyway
        throw err;
      }
    };
    const lanes = await Promise.allSettled([lane(), lane()]);
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    return messages.map(() => 'stored');
  }

  private async post(body: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
    } catch (err) {
      throw writeError(`InfluxDB at ${this.o.url}`, undefined, (err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : (err as Error).message, err);
    }
    if (res.status === 204 || res.status === 200) {
      await res.arrayBuffer().catch(() => undefined);
      return;
    }
    throw writeError(`InfluxDB at ${this.o.url}`, res.status, await res.text().catch(() => ''));
  }

  async close(): Promise<void> {}
}
