/**
 * Upper bounds for the ingest-e2e suite: what this machine allows any ingest, ours or Node-RED, before
 * either does any work of its own. A ratio goal above these bounds cannot be met here by any ingest.
 *   transport: the same publishers and mosquitto, delivering to a subscriber that only counts and PUBACKs
 *              (the raw-socket subscriber of the broker-fan-in suite): MQTT alone, no parsing, no store.
 *   store:     InfluxDB 1.6 alone, taking the same readings as ready-made line protocol (5,000 lines per
 *              request, two requests in flight, as our writer sends them), with no broker and no publishers.
 */
import { join } from 'node:path';
import { INFLUX_ADMIN } from '../../test/support/tsdb.js';
import { REPO_ROOT } from './brokers.js';
import { waitForCount } from './influx-count.js';
import type { PreparedLoad } from './ingest-e2e-load.js';
import { startWorker, type Worker } from './worker.js';

const SUBSCRIBER_WORKER = join(REPO_ROOT, 'bench/lib/load/subscriber-worker.ts');

export interface DiscardSubscriber {
  pid: number;
  delivered(): Promise<number>;
  /** Resolves (performance.now()) once `total` messages were delivered; rejects if delivery stalls. */
  waitDelivered(total: number, stallMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** The ingest service account on `filter` at QoS 1, in its own process, counting and PUBACKing only. */
export async function startDiscardSubscriber(mqttUrl: string, username: string, password: string, filter: string): Promise<DiscardSubscriber> {
  const worker: Worker = await startWorker(SUBSCRIBER_WORKER, 'discard subscriber');
  const u = new URL(mqttUrl);
  try {
    await worker.request({ type: 'connect', host: u.hostname, port: Number(u.port), username, password, filter });
  } catch (err) {
    await worker.stop();
    throw err;
  }
  const delivered = async () => (await worker.request<{ delivered: number }>({ type: 'count' })).delivered;
  return {
    pid: worker.pid,
    delivered,
    waitDelivered: (total, stallMs = 30_000) =>
      waitForCount(delivered, { expected: total, stallMs, pollMs: 5 }, (n, s) => `the discard subscriber got ${n} of ${total} messages and nothing for ${s} s`),
    stop: () => worker.stop(),
  };
}

/**
 * The load's readings as the ingest's InfluxDB lines (measurement, tags and fields of
 * firmware-contracts/src/influx-schema.ts for a water meter), chunked into request bodies.
 */
export function loadAsLineBodies(load: PreparedLoad, measurement: string, dma: string, linesPerBody = 5_000): string[] {
  const lines: string[] = [];
  for (const [deviceId, payloads] of load.payloads) {
    const key = `${measurement},deviceId=${deviceId},dma=${dma},type=water-meter`;
    for (const p of payloads) {
      const m = JSON.parse(p.toString()) as { boot: number; seq: number; replay?: boolean; samples: Array<Record<string, number>> };
      for (const s of m.samples) {
        lines.push(`${key} indexL=${s.indexL}i,flowLph=${s.flowLph},batteryPct=${s.batteryPct},boot=${m.boot}i,seq=${m.seq}i,replay=${m.replay === true} ${s.ts}`);
      }
    }
  }
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += linesPerBody) bodies.push(lines.slice(i, i + linesPerBody).join('\n'));
  return bodies;
}

/** Posts every body to InfluxDB 1.x `/write`, `lanes` requests in flight; rejects on the first refusal. */
export async function postLineBodies(influxUrl: string, db: string, bodies: readonly string[], lanes = 2): Promise<void> {
  const url = `${influxUrl}/write?${new URLSearchParams({ db, precision: 'ms' })}`;
  const headers = { 'content-type': 'text/plain; charset=utf-8', authorization: `Basic ${Buffer.from(`${INFLUX_ADMIN.user}:${INFLUX_ADMIN.password}`).toString('base64')}` };
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) {
      const res = await fetch(url, { method: 'POST', body: bodies[next++], headers });
      if (res.status !== 204) throw new Error(`InfluxDB refused a write: HTTP ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}
