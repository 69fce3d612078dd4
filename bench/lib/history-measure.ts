/**
 * The history suite's measurements of our system on one store: `npm start` to healthy, the questions over
 * HTTP, the ingest's memory, the product's rebuild command, the live write rate, disk per reading.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processControl } from '../../test/support/child-process.js';
import { DAY_MS, dmaId, meterId, type Fleet } from './history-generate.js';
import { ourQuestions, rounds } from './history-queries.js';
import { envOfScript, nodeArgsOfScript } from './npm-script.js';
import { median, percentile } from './stats.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const TOKEN = 'bench-history-token-0123456789abcdef';

export const du = (path: string): number => (existsSync(path) ? Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split(/\s/)[0]) : 0);

/** Bytes of the readings' storage: the DuckDB file (hot tables, rollups, latest values), its WAL, the archive. */
export function storeBytes(dataDir: string): { duckdb: number; segments: number; archive: number } {
  return { duckdb: du(join(dataDir, 'tsunagaru.duckdb')) + du(join(dataDir, 'tsunagaru.duckdb.wal')), segments: du(join(dataDir, 'hot')), archive: du(join(dataDir, 'archive')) };
}

function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** Runs a repo script in node with tsx; resolves with its stdout, rejects with its output on failure. */
export function runScript(args: string[], env: Record<string, string>, timeoutMs = 4 * 3_600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} exited with ${code}:\n${(out + err).slice(-3000)}`));
    });
  });
}

/** Meters each question is first asked of before it is measured (the DMA balance: 10 other DMAs). */
export const WARM_UP = 20;

export interface FirstAnswers {
  detail: number[];
  raw24h: number[];
  dailyUsage: number[];
  dmaBalance: number[];
}

export interface QueryFigures {
  /** Per round: p50 and p99 of device detail; p50 of the others. */
  detailP50: number[];
  detailP99: number[];
  raw24h: number[];
  dailyUsage: number[];
  dmaBalance: number[];
}

export interface StartedIngest {
  startSeconds: number;
  /** Seconds from healthy to the end of the water figure keeper's first pass (every DMA's last month). */
  keptSeconds: number;
  /** Seconds from then to the end of the water rules' first read of the store (nights, households' month). */
  waterReadSeconds: number;
  queries: QueryFigures;
  /** The warm-up: each question's first answers after the start, in ms, before those measured. */
  firstAnswers: FirstAnswers;
  rssMiB: number;
  peakMiB: number;
}

/**
 * `npm start` (its node flags, SIMULATORS=off) on `dataDir`: seconds from spawn to /api/v1/health "ok",
 * then `runs` rounds of the questions, then the process's memory, then a clean stop.
 */
export async function startAndAsk(dataDir: string, fleet: Fleet, history: { from: number; to: number }, runs: number, progress: (m: string) => void): Promise<StartedIngest> {
  const env = { ...process.env, ...envOfScript('start'), DATA_DIR: dataDir, SIMULATORS: 'off', MQTT_PORT: '0', MQTTS_PORT: 'off', HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn', LOG_FILE: join(dataDir, 'bench-ingest.log') };
  const t0 = performance.now();
  const child = spawn(process.execPath, nodeArgsOfScript('start'), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const control = processControl(child, 60_000);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    let httpUrl: string | undefined;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out.slice(-3000)}`);
      if (performance.now() - t0 > 600_000) throw new Error(`npm start not healthy after 600 s:\n${out.slice(-3000)}`);
      httpUrl ??= /REST API\s+(http:\/\/\S+)\/api\/v1/.exec(out)?.[1];
      if (httpUrl) {
        const health = await fetch(`${httpUrl}/api/v1/health`).then((r) => r.json() as Promise<{ status?: string }>, () => undefined);
        if (health?.status === 'ok') break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const startSeconds = (performance.now() - t0) / 1000;
    // The ingest's own account of its start (health `started`): where the time went.
    const started = await fetch(`${httpUrl}/api/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json() as Promise<{ started?: { ms: number; phases: Record<string, number> } }>, () => undefined);
    const parts = started?.started ? ` (the ingest's part ${(started.started.ms / 1000).toFixed(1)} s: ${Object.entries(started.started.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')})` : '';
    progress(`npm start healthy in ${startSeconds.toFixed(1)} s${parts}`);
    // The open alerts are loaded once the ingest is up (alerts/engine.ts open): said apart.
    const restoredSeconds = await alertsRestored(httpUrl!, 600_000);
    progress(`the alerts open before the start loaded ${restoredSeconds.toFixed(1)} s after that`);
    // The DMAs' daily figures are kept in the background from start (ingest/src/water/keeper.ts): a store
    // that has been running has them; this one has just been built, so its first pass is waited for.
    const keptSeconds = await firstKeeperPass(httpUrl!, 3_600_000);
    progress(`water figures of every DMA kept in ${keptSeconds.toFixed(1)} s after start`);
    // So are the water rules' first read (the nights, and every household's last month once it is over):
    // a store that has been running has judged them, and reads them again only when they change.
    const waterReadSeconds = await firstWaterRead(httpUrl!, 3_600_000);
    progress(`the water rules' first read (every household's month) done in ${waterReadSeconds.toFixed(1)} s after that`);
    const ask = ourQuestions(httpUrl!, TOKEN);
    const pick = (n: number, salt: number) => Array.from({ length: n }, (_, k) => meterId(fleet, (k * 7919 + salt * 104_729) % fleet.meters));
    const dmas = Array.from({ length: Math.min(10, fleet.dmas) }, (_, k) => dmaId((k * 7) % fleet.dmas));
    // The first answers after a start read from disk what later ones find in memory (DuckDB loads the
    // closed days' index and their column blocks as they are asked for): each question is first asked of
    // other meters (other DMAs), as a server that has been answering has been, and those first answers
    // are reported apart.
    const otherDmas = Array.from({ length: Math.min(10, fleet.dmas) }, (_, k) => dmaId((k * 7 + 3) % fleet.dmas));
    const firstAnswers: FirstAnswers = {
      detail: (await rounds(1, pick(WARM_UP, 99), (id) => ask.deviceDetail(id)))[0]!,
      raw24h: (await rounds(1, pick(WARM_UP, 98), (id) => ask.raw24h(id, history.to)))[0]!,
      dailyUsage: (await rounds(1, pick(WARM_UP, 97), (id) => ask.dailyUsage(id, history.from, history.to)))[0]!,
      dmaBalance: (await rounds(1, otherDmas, (dma) => ask.dmaBalance(dma, history.from, history.to)))[0]!,
    };
    const detail = await rounds(runs, pick(200, 1), (id) => ask.deviceDetail(id));
    const raw = await rounds(runs, pick(20, 2), (id) => ask.raw24h(id, history.to));
    const usage = await rounds(runs, pick(20, 3), (id) => ask.dailyUsage(id, history.from, history.to));
    const balance = await rounds(runs, dmas, (dma) => ask.dmaBalance(dma, history.from, history.to));
    const queries: QueryFigures = {
      detailP50: detail.map((r) => median(r)),
      detailP99: detail.map((r) => percentile(r, 99)),
      raw24h: raw.map((r) => median(r)),
      dailyUsage: usage.map((r) => median(r)),
      dmaBalance: balance.map((r) => median(r)),
    };
    const mem = memory(child.pid!);
    progress(`queries done; ingest RSS ${mem.rssMiB.toFixed(0)} MiB (peak ${mem.peakMiB.toFixed(0)} MiB)`);
    return { startSeconds, keptSeconds, waterReadSeconds, queries, firstAnswers, ...mem };
  } finally {
    await control.stop();
  }
}

interface Health {
  alerts?: { restoring?: boolean; water?: { reads?: number; reading?: boolean } };
  store?: { waterFigures?: { passes?: number } };
}

/** Seconds until the ingest at `httpUrl` says `done` in its health (with the token), polled every `everyMs`. */
async function healthUntil(httpUrl: string, done: (h: Health) => boolean, what: string, timeoutMs: number, everyMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const health = await fetch(`${httpUrl}/api/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json() as Promise<Health>, () => undefined);
    if (health && done(health)) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The alerts open before the start loaded (alerts/engine.ts open). */
const alertsRestored = (httpUrl: string, timeoutMs: number) => healthUntil(httpUrl, (h) => h.alerts?.restoring !== true, 'the open alerts were not loaded', timeoutMs, 25);

/** The water figure keeper's first pass done. */
const firstKeeperPass = (httpUrl: string, timeoutMs: number) =>
  healthUntil(httpUrl, (h) => (h.store?.waterFigures?.passes ?? 0) >= 1, "the water figure keeper's first pass did not finish", timeoutMs, 500);

/** The water rules' first read of the store done (or no water rules). */
const firstWaterRead = (httpUrl: string, timeoutMs: number) =>
  healthUntil(httpUrl, (h) => !h.alerts?.water || ((h.alerts.water.reads ?? 0) >= 1 && !h.alerts.water.reading), "the water rules' first read did not finish", timeoutMs, 500);

/** The product's own command: `npm run store -- rebuild-rollups --from … --to …`; seconds. */
export async function rebuildRollups(dataDir: string, fromIso: string, toIso: string, progress: (m: string) => void): Promise<number> {
  const t0 = performance.now();
  const out = await runScript(['scripts/store.ts', 'rebuild-rollups', '--from', fromIso, '--to', toIso], { DATA_DIR: dataDir });
  progress(out.trim().split('\n').at(-1) ?? '');
  return (performance.now() - t0) / 1000;
}

/**
 * The product's own command: `npm run store -- archive`, what the ingest does every hour (close finished
 * days, move closed days' raw rows to Parquet segments and those past RAW_RETENTION_DAYS to the archive); seconds.
 */
export async function archiveNow(dataDir: string, progress: (m: string) => void): Promise<number> {
  const t0 = performance.now();
  const out = await runScript(['scripts/store.ts', 'archive'], { DATA_DIR: dataDir });
  progress(out.trim().split('\n').at(-1) ?? '');
  return (performance.now() - t0) / 1000;
}

/** One cycle of the fleet written live into the store at `dataDir`, with its fold; messages per second. */
export async function liveWriteRate(dataDir: string, fleet: Fleet, cycleTs: number, seq: number): Promise<{ rate: number; writeMs: number; foldMs: number }> {
  const out = await runScript(['bench/lib/history-write-child.ts'], { DATA_DIR: dataDir, METERS: String(fleet.meters), DMAS: String(fleet.dmas), CYCLE_TS: String(cycleTs), SEQ: String(seq) });
  const r = JSON.parse(/^RESULT (.*)$/m.exec(out)![1]!) as { messages: number; writeMs: number; foldMs: number };
  return { rate: r.messages / ((r.writeMs + r.foldMs) / 1000), writeMs: r.writeMs, foldMs: r.foldMs };
}

export const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
