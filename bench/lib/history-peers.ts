/**
 * The history suite's peers: InfluxDB 1.6 and VictoriaMetrics (Debian packages, test/support/tsdb.ts)
 * loaded with the same generated day, as the ingest's InfluxDB writer writes it (line protocol: measurement
 * water_meter, tags deviceId/dma/type, fields indexL, flowLph, batteryPct, boot, seq, replay), meter by
 * meter (their best case for a bulk load). Then their disk bytes per reading, once compaction has settled,
 * and the suite's queries in their own languages.
 */
import { execFileSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { managedServer, type ManagedServer } from '../../test/support/managed-server.js';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { INFLUXD_BIN, VICTORIA_BIN, writeInfluxDb16Config } from '../../test/support/tsdb.js';

export interface Peer {
  label: string;
  server: ManagedServer;
  dataDir: string;
  write(lines: string): Promise<void>;
  /** Waits until what it wrote is flushed and compacted as far as it goes by itself. */
  settle(progress: (m: string) => void): Promise<void>;
}

const du = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split(/\s/)[0]);

async function postLines(url: string, body: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { method: 'POST', body });
    const text = await r.text();
    if (r.status === 204 || r.status === 200) return;
    // InfluxDB answers a write slower than its timeout with "timeout" but keeps it; it is retried (an overwrite).
    if (attempt < 5 && /timeout/.test(text)) continue;
    throw new Error(`write ${url}: HTTP ${r.status} ${text.slice(0, 300)}`);
  }
}

/** InfluxDB 1.6 as tsdb.ts starts it, without the per-tag and per-database series caps, caches snapshotted soon. */
export async function startInflux(): Promise<Peer> {
  const dir = makeTempDir('history-influx');
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const conf = writeInfluxDb16Config(dir.path, httpPort, rpcPort, {
    auth: false,
    dataSettings: ['max-series-per-database = 0', 'max-values-per-tag = 0', 'cache-snapshot-write-cold-duration = "30s"', 'compact-full-write-cold-duration = "60s"'],
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const server = managedServer('influxd', INFLUXD_BIN, ['-config', conf], url, async () => (await fetch(`${url}/ping`).catch(() => undefined))?.status === 204, dir.remove);
  await server.start();
  await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE tsunagaru' }) });
  return {
    label: 'InfluxDB 1.6',
    server,
    dataDir: dir.path,
    write: (lines) => postLines(`${url}/write?db=tsunagaru&precision=ms`, lines),
    settle: async (progress) => {
      // Cold cache snapshots after 30 s and a full compaction after 60 s: wait until the files stop changing.
      let last = -1;
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 15_000));
        const size = du(`${dir.path}/data`) + du(`${dir.path}/wal`);
        progress(`InfluxDB settling: ${Math.round(size / 2 ** 20)} MiB`);
        if (size === last && i >= 6) return;
        last = size;
      }
    },
  };
}

/** VictoriaMetrics as tsdb.ts starts it (dedup at 1 ms), with a data directory this suite measures. */
export async function startVictoria(): Promise<Peer> {
  const dir = makeTempDir('history-victoria');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [`-storageDataPath=${dir.path}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-dedup.minScrapeInterval=1ms', '-loggerLevel=ERROR', '-search.maxPointsPerTimeseries=100000'];
  const server = managedServer('victoria-metrics', VICTORIA_BIN, args, url, async () => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200, dir.remove);
  await server.start();
  return {
    label: 'VictoriaMetrics',
    server,
    dataDir: dir.path,
    write: (lines) => postLines(`${url}/write?db=tsunagaru`, lines),
    settle: async () => {
      await fetch(`${url}/internal/force_flush`).then((r) => r.arrayBuffer());
      await fetch(`${url}/internal/force_merge`).then((r) => r.arrayBuffer());
      await new Promise((r) => setTimeout(r, 30_000));
    },
  };
}

/** Bytes the peer keeps on disk for what it holds. */
export function peerBytes(p: Peer): number {
  return du(p.dataDir);
}

/** Streams `sql` (one `line` column) from the store into the peer, `batch` lines per request. */
export async function loadPeer(storeFile: string, sql: string, peers: readonly Peer[], progress: (m: string) => void, batch = 10_000): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await instance.connect();
  await c.run(`ATTACH '${storeFile}' AS s (READ_ONLY)`);
  await c.run('USE s');
  const result = await c.stream(sql);
  let lines: string[] = [];
  let n = 0;
  const flush = async () => {
    const body = lines.join('\n');
    lines = [];
    await Promise.all(peers.map((p) => p.write(body)));
  };
  for await (const rows of result.yieldRowsJson()) {
    for (const [line] of rows) {
      lines.push(String(line));
      if (lines.length >= batch) {
        n += lines.length;
        await flush();
        if (n % 1_000_000 < batch) progress(`peers loaded ${n.toLocaleString('en-US')} readings`);
      }
    }
  }
  n += lines.length;
  if (lines.length) await flush();
  c.closeSync();
  instance.closeSync();
  return n;
}

