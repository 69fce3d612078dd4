/**
 * Real time-series servers from Debian packages on loopback, random ports, temp data dirs: InfluxDB 1.6
 * (v1 /write, InfluxQL /query) and VictoriaMetrics (v2 /api/v2/write, /api/v1/export). Each can be
 * stopped and started again on the same port and data (fault tests). scripts/install-test-deps.sh
 * installs them; on CI a missing binary fails the test instead of skipping it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { managedServer, type ManagedServer } from './managed-server.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dir.js';

export const INFLUXD_BIN = '/usr/bin/influxd';
export const VICTORIA_BIN = '/usr/bin/victoria-metrics';

export function serverAvailable(bin: string): boolean {
  if (existsSync(bin)) return true;
  if (process.env.CI) throw new Error(`${bin} is missing: .ci/run must install it (scripts/install-test-deps.sh)`);
  return false;
}

/** A time-series server under test (see ManagedServer). */
export type TsdbServer = ManagedServer;

const answers = (url: string, expect: (r: Response) => boolean) => async () => {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return expect(r);
  } catch {
    return false;
  }
};

export const INFLUX_ADMIN = { user: 'tsunagaru', password: 'influx-test-password' };

/**
 * influxd 1.6's config file in `dir` (data, WAL and meta under it; loopback ports; no reporting, query log,
 * monitor store or continuous queries). `dataSettings` go under [data] (e.g. the bench's series caps).
 */
export function writeInfluxDb16Config(dir: string, httpPort: number, rpcPort: number, o: { auth: boolean; dataSettings?: readonly string[] }): string {
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      ...(o.dataSettings ?? []).map((line) => `  ${line}`),
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      `  auth-enabled = ${o.auth}`,
      '  log-enabled = false',
      '  write-tracing = false',
      '',
    ].join('\n'),
  );
  return conf;
}

/** InfluxDB 1.6 with authentication on, an admin user and database `db`. */
export async function startInfluxDb16(db = 'tsunagaru'): Promise<TsdbServer> {
  const dir = makeTempDir('influxdb');
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const conf = writeInfluxDb16Config(dir.path, httpPort, rpcPort, { auth: true });
  const url = `http://127.0.0.1:${httpPort}`;
  const server = managedServer('influxd', INFLUXD_BIN, ['-config', conf], url, answers(`${url}/ping`, (r) => r.status === 204), dir.remove);
  await server.start();
  // With no users yet, InfluxDB allows creating the first admin without credentials.
  await influxQl(url, `CREATE USER ${INFLUX_ADMIN.user} WITH PASSWORD '${INFLUX_ADMIN.password}' WITH ALL PRIVILEGES`, undefined, false);
  await influxQl(url, `CREATE DATABASE ${db}`);
  return server;
}

/** Runs InfluxQL on InfluxDB 1.x (as the admin) and returns the JSON results; ms epochs. */
export async function influxQl(url: string, q: string, db?: string, auth = true): Promise<any> {
  const params = new URLSearchParams({ q, epoch: 'ms', ...(db ? { db } : {}) });
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${INFLUX_ADMIN.user}:${INFLUX_ADMIN.password}`).toString('base64')}` } : {};
  const res = await fetch(`${url}/query`, { method: 'POST', body: params, headers });
  const body = (await res.json()) as any;
  if (res.status !== 200 || body.results?.[0]?.error) throw new Error(`InfluxQL ${q}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Rows of an InfluxQL SELECT as objects (column → value). */
export async function influxRows(url: string, db: string, q: string): Promise<Array<Record<string, unknown>>> {
  const body = await influxQl(url, q, db);
  return (body.results[0].series ?? []).flatMap((s: { columns: string[]; values: unknown[][]; tags?: Record<string, string> }) =>
    s.values.map((v) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })),
  );
}

/** VictoriaMetrics with dedup at 1 ms, so a rewritten point (same series and ms) is one sample. */
export async function startVictoriaMetrics(): Promise<TsdbServer> {
  const dir = makeTempDir('victoria');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [`-storageDataPath=${dir.path}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-dedup.minScrapeInterval=1ms', '-loggerLevel=ERROR', '-memory.allowedPercent=20'];
  const server = managedServer('victoria-metrics', VICTORIA_BIN, args, url, answers(`${url}/health`, (r) => r.status === 200), dir.remove);
  await server.start();
  return server;
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** Everything VictoriaMetrics holds for series matching `match` (after flushing its in-memory buffers). */
export async function victoriaExport(url: string, match: string): Promise<ExportedSeries[]> {
  await fetch(`${url}/internal/force_flush`).then((r) => r.arrayBuffer());
  const res = await fetch(`${url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match, start: '0' }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`export ${match}: HTTP ${res.status} ${text}`);
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ExportedSeries);
}
