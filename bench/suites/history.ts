/**
 * history: a 130,000-meter fleet at 15-minute readings, its history generated in bulk straight into the
 * store and its rollups rebuilt by `npm run store -- rebuild-rollups`, measured at 1, 7 and 30 days
 * (BENCH_HISTORY_DAYS, e.g. `1,7,30,90`): device detail, one meter's 24 h, one meter's daily usage and one
 * DMA's daily balance over the whole history, the live write rate against the empty store's, disk per
 * reading, the ingest's memory and `npm start` to healthy; InfluxDB 1.6 and VictoriaMetrics on the same
 * first day. The history grows backwards (it always ends now), so each size adds older days to the last.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { createFleetStore, dmaId, generateDays, lineProtocolSql, localDayOf, localDayStart, meterId, QUARTER_MS, type Fleet } from '../lib/history-generate.js';
import { archiveNow, isoDay, liveWriteRate, rebuildRollups, startAndAsk, storeBytes, WARM_UP, type StartedIngest } from '../lib/history-measure.js';
import { loadPeer, peerBytes, startInflux, startVictoria, type Peer } from '../lib/history-peers.js';
import { influxQuestions, rounds, victoriaQuestions, type Questions } from '../lib/history-queries.js';
import { median } from '../lib/stats.js';
import type { BenchContext, Figure, Suite, SuiteResult } from '../lib/types.js';

interface SizeResult {
  days: number;
  readings: number;
  generateSeconds: number;
  /** `npm run store -- archive` after each generated day, in all. */
  archiveSeconds: number;
  rebuildSeconds: number;
  bytes: { duckdb: number; segments: number; archive: number };
  ingest: StartedIngest;
  write: { history: number; empty: number; foldMs: number };
  load: number[];
}

interface PeerResult {
  label: string;
  bytesPerReading: number;
  loadSeconds: number;
  detail: number[];
  raw24h: number[];
  dailyUsage: number[];
  dmaBalance: number[];
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function sizesOf(text: string | undefined, quick: boolean): number[] {
  const sizes = (text ?? (quick ? '1,2' : '1,7,30')).split(',').map(Number);
  if (sizes.some((d) => !Number.isInteger(d) || d < 1 || d > 3650) || sizes.some((d, i) => i > 0 && d <= sizes[i - 1]!)) throw new Error(`BENCH_HISTORY_DAYS: increasing whole days 1-3650, e.g. 1,7,30; got "${text}"`);
  return sizes;
}

async function measurePeers(dataDir: string, fleet: Fleet, day: number, runs: number, ctx: BenchContext): Promise<PeerResult[]> {
  const peers: Peer[] = [];
  try {
    peers.push(await startInflux(), await startVictoria());
    const t0 = performance.now();
    const n = await loadPeer(join(dataDir, 'tsunagaru.duckdb'), lineProtocolSql(fleet, day), peers, ctx.progress);
    const loadSeconds = (performance.now() - t0) / 1000;
    ctx.progress(`peers: ${fmt(n)} readings written to both in ${loadSeconds.toFixed(0)} s`);
    const out: PeerResult[] = [];
    for (const p of peers) {
      await p.settle(ctx.progress);
      const q: Questions = p.label.startsWith('Influx') ? influxQuestions(p.server.url) : victoriaQuestions(p.server.url);
      const [from, to] = [localDayStart(day), localDayStart(day + 1)];
      // Meters that exist in either fleet (the quick one has 500 per DMA): the same picks as our questions.
      const ids = (k: number) => Array.from({ length: 20 }, (_, i) => meterId(fleet, (i * 7919 + k * 104_729) % fleet.meters));
      const dmas = Array.from({ length: Math.min(10, fleet.dmas) }, (_, i) => dmaId((i * 7) % fleet.dmas));
      // Warmed up as ours is (bench/lib/history-measure.ts): each question first asked of other meters and DMAs.
      for (const id of ids(99).slice(0, WARM_UP)) await q.deviceDetail(id);
      for (const id of ids(98).slice(0, WARM_UP)) await q.raw24h(id, to);
      for (const id of ids(97).slice(0, WARM_UP)) await q.dailyUsage(id, from, to);
      for (let i = 0; i < Math.min(10, fleet.dmas); i++) await q.dmaBalance(dmaId((i * 7 + 3) % fleet.dmas), from, to);
      const result: PeerResult = {
        label: p.label,
        bytesPerReading: peerBytes(p) / n,
        loadSeconds,
        detail: (await rounds(runs, ids(1), (id) => q.deviceDetail(id))).map(median),
        raw24h: (await rounds(runs, ids(2), (id) => q.raw24h(id, to))).map(median),
        dailyUsage: (await rounds(runs, ids(3), (id) => q.dailyUsage(id, from, to))).map(median),
        dmaBalance: (await rounds(runs, dmas, (dma) => q.dmaBalance(dma, from, to))).map(median),
      };
      ctx.progress(`${p.label}: ${result.bytesPerReading.toFixed(2)} bytes/reading; daily usage p50 ${median(result.dailyUsage).toFixed(1)} ms, DMA balance ${median(result.dmaBalance).toFixed(1)} ms`);
      out.push(result);
    }
    return out;
  } finally {
    for (const p of peers) await p.server.dispose().catch(() => undefined);
  }
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const sizes = sizesOf(process.env.BENCH_HISTORY_DAYS, ctx.quick);
  const fleet: Fleet = ctx.quick ? { meters: 2_000, dmas: 4 } : { meters: 130_000, dmas: 65 };
  const peersOn = process.env.BENCH_HISTORY_PEERS !== '0';
  const dir = makeTempDir('bench-history');
  const empty = makeTempDir('bench-history-empty');
  const today = localDayOf(Date.now());
  const results: SizeResult[] = [];
  let peers: PeerResult[] = [];
  try {
    ctx.progress(`fleet of ${fmt(fleet.meters)} meters in ${fleet.dmas} DMAs, 15-min readings; sizes ${sizes.join(', ')} d; store in ${dir.path}`);
    await createFleetStore(dir.path, fleet);
    await createFleetStore(empty.path, fleet);
    let have = 0;
    for (const [i, size] of sizes.entries()) {
      const days = Array.from({ length: size - have }, (_, k) => today - size + k);
      const history = { firstDay: today - size, lastDay: today - 1 };
      let t0 = performance.now();
      let archiveSeconds = 0;
      // Day by day, each followed by the retention run the ingest does every hour, so the DuckDB file holds
      // what a running store's does (the blocks of rows moved to segments are reused by the next days).
      for (const day of days) {
        await generateDays(dir.path, fleet, [day], history, (d) => ctx.progress(`generated ${isoDay(d.day)}: ${fmt(d.rows)} readings in ${(d.ms / 1000).toFixed(0)} s`));
        archiveSeconds += await archiveNow(dir.path, ctx.progress);
      }
      const generateSeconds = (performance.now() - t0) / 1000 - archiveSeconds;
      if (i === 0 && peersOn) peers = await measurePeers(dir.path, fleet, today - 1, ctx.runs, ctx);
      const rebuildSeconds = await rebuildRollups(dir.path, isoDay(days[0]!), isoDay(days.at(-1)!), ctx.progress);
      const bytes = storeBytes(dir.path);
      const load = loadavg();
      const range = { from: localDayStart(history.firstDay), to: localDayStart(today) };
      const ingest = await startAndAsk(dir.path, fleet, range, ctx.runs, ctx.progress);
      // The next cycle after the history (a different one per size: each writes new readings).
      const cycle = localDayStart(today) + i * QUARTER_MS;
      const seq = (today - 19_000) * 96 + i;
      t0 = performance.now();
      const emptyRate = await liveWriteRate(empty.path, fleet, cycle, seq);
      const historyRate = await liveWriteRate(dir.path, fleet, cycle, seq);
      ctx.progress(`live write: ${fmt(historyRate.rate)} msg/s holding ${size} d, ${fmt(emptyRate.rate)} msg/s empty (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      results.push({ days: size, readings: fleet.meters * 96 * size, generateSeconds, archiveSeconds, rebuildSeconds, bytes, ingest, write: { history: historyRate.rate, empty: emptyRate.rate, foldMs: historyRate.foldMs }, load });
      ctx.progress(`${size} d: ${((bytes.duckdb + bytes.segments + bytes.archive) / (fleet.meters * 96 * size)).toFixed(2)} bytes/reading; detail p99 ${median(ingest.queries.detailP99).toFixed(1)} ms; usage ${median(ingest.queries.dailyUsage).toFixed(1)} ms; DMA ${median(ingest.queries.dmaBalance).toFixed(1)} ms; load ${load.map((l) => l.toFixed(1)).join(' ')}`);
      have = size;
    }
  } finally {
    dir.remove();
    empty.remove();
  }
  return report(results, peers, fleet, ctx);
}

function report(results: SizeResult[], peers: PeerResult[], fleet: Fleet, ctx: BenchContext): SuiteResult {
  const first = results[0]!;
  const last = results.at(-1)!;
  const influx = peers.find((p) => p.label.startsWith('Influx'));
  const victoria = peers.find((p) => p.label.startsWith('Victoria'));
  const perReading = (r: SizeResult) => (r.bytes.duckdb + r.bytes.segments + r.bytes.archive) / r.readings;
  const figures: Figure[] = [];
  const atGoal = (r: SizeResult) => r === last && r.days >= 30;
  for (const r of results) {
    const d = `${r.days} d`;
    const q = r.ingest.queries;
    const peerOf = (p: PeerResult | undefined, key: keyof Pick<PeerResult, 'detail' | 'raw24h' | 'dailyUsage' | 'dmaBalance'>) => (p && r === first ? { peer: { label: `${p.label}, 1 d`, runs: p[key] } } : {});
    figures.push(
      { name: `device detail p50, ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: q.detailP50 }, ...peerOf(influx, 'detail') },
      { name: `device detail p99, ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: q.detailP99 }, ...(atGoal(r) ? { goal: '≤ 20 ms at 30 d', goalCheck: (m: number) => m <= 20 } : {}) },
      { name: `one meter's 24 h raw, ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: q.raw24h }, ...peerOf(influx, 'raw24h') },
      { name: `one meter's daily usage over the whole history, ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: q.dailyUsage }, ...peerOf(influx, 'dailyUsage'), ...(atGoal(r) ? { goal: '≤ 100 ms at 30 d', goalCheck: (m: number) => m <= 100 } : {}) },
      { name: `one DMA's daily balance over the whole history, ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: q.dmaBalance }, ...peerOf(influx, 'dmaBalance'), ...(atGoal(r) ? { goal: '≤ 1 s at 30 d', goalCheck: (m: number) => m <= 1000 } : {}) },
      ...([['device detail', r.ingest.firstAnswers.detail], ["one meter's 24 h raw", r.ingest.firstAnswers.raw24h], ["one meter's daily usage", r.ingest.firstAnswers.dailyUsage], ["one DMA's daily balance", r.ingest.firstAnswers.dmaBalance]] as const).map(
        ([what, answers]): Figure => ({ name: `${what}, first answers after the start (median of the ${answers.length} warm-up answers), ${d}`, unit: 'ms', higherIsBetter: false, ours: { runs: [median(answers)] } }),
      ),
      { name: `live write rate holding ${d} (one fleet cycle, batches of 1,000, with its fold)`, unit: 'msg/s', higherIsBetter: true, ours: { runs: [r.write.history] }, peer: { label: 'the empty store', runs: [r.write.empty] }, ...(atGoal(r) ? { goal: '≥ 0.9× the empty store', goalCheck: (_m: number, ratio: number | undefined) => ratio !== undefined && ratio >= 0.9 } : {}) },
      { name: `disk per reading (tables + segments + archive + rollups), ${d}`, unit: 'bytes', higherIsBetter: false, ours: { runs: [perReading(r)] }, ...(influx ? { peer: { label: 'InfluxDB 1.6, 1 d', runs: [influx.bytesPerReading] } } : {}), ...(atGoal(r) && influx ? { goal: '≤ InfluxDB 1.6', goalCheck: (_m: number, ratio: number | undefined) => ratio !== undefined && ratio >= 1 } : {}) },
      { name: `ingest RSS after the questions, ${d}`, unit: 'MiB', higherIsBetter: false, ours: { runs: [r.ingest.rssMiB] }, ...(atGoal(r) ? { goal: '≤ 1 GiB at 30 d', goalCheck: (m: number) => m <= 1024 } : {}) },
      { name: `npm start to healthy, ${d}`, unit: 's', higherIsBetter: false, ours: { runs: [r.ingest.startSeconds] }, ...(atGoal(r) ? { goal: '≤ 10 s at 30 d', goalCheck: (m: number) => m <= 10 } : {}) },
      { name: `every DMA's daily figures of the last month kept, after start (in the background), ${d}`, unit: 's', higherIsBetter: false, ours: { runs: [r.ingest.keptSeconds] } },
      { name: `the water rules' first read after that (nights; every household's last month, once), ${d}`, unit: 's', higherIsBetter: false, ours: { runs: [r.ingest.waterReadSeconds] } },
    );
  }
  if (results.length > 1) {
    const ratio = (pick: (r: SizeResult) => number[]) => [median(pick(last)) / median(pick(first))];
    for (const [name, pick] of [
      ['device detail p99', (r: SizeResult) => r.ingest.queries.detailP99],
      ["one meter's 24 h raw", (r: SizeResult) => r.ingest.queries.raw24h],
      ["one meter's daily usage", (r: SizeResult) => r.ingest.queries.dailyUsage],
      ["one DMA's daily balance", (r: SizeResult) => r.ingest.queries.dmaBalance],
    ] as const) {
      figures.push({ name: `${name}: cost at ${last.days} d ÷ cost at ${first.days} d`, unit: '×', higherIsBetter: false, ours: { runs: ratio(pick) }, ...(last.days >= 30 ? { goal: '≤ 1.5', goalCheck: (m: number) => m <= 1.5 } : {}) });
    }
  }
  if (victoria) {
    figures.push(
      { name: "one meter's daily usage, 1 d (vs VictoriaMetrics)", unit: 'ms', higherIsBetter: false, ours: { runs: first.ingest.queries.dailyUsage }, peer: { label: 'VictoriaMetrics, 1 d', runs: victoria.dailyUsage } },
      { name: "one DMA's daily balance, 1 d (vs VictoriaMetrics)", unit: 'ms', higherIsBetter: false, ours: { runs: first.ingest.queries.dmaBalance }, peer: { label: 'VictoriaMetrics, 1 d', runs: victoria.dmaBalance } },
      { name: "one meter's 24 h raw, 1 d (vs VictoriaMetrics)", unit: 'ms', higherIsBetter: false, ours: { runs: first.ingest.queries.raw24h }, peer: { label: 'VictoriaMetrics, 1 d', runs: victoria.raw24h } },
      { name: 'disk per reading, 1 d (vs VictoriaMetrics)', unit: 'bytes', higherIsBetter: false, ours: { runs: [perReading(first)] }, peer: { label: 'VictoriaMetrics, 1 d', runs: [victoria.bytesPerReading] } },
    );
  }
  const rows = results.map((r) => `| ${r.days} | ${fmt(r.readings)} | ${fmt(r.generateSeconds)} | ${fmt(r.archiveSeconds)} | ${fmt(r.rebuildSeconds)} | ${fmt(r.bytes.duckdb / 2 ** 20)} | ${fmt(r.bytes.segments / 2 ** 20)} | ${fmt(r.bytes.archive / 2 ** 20)} | ${perReading(r).toFixed(2)} | ${fmt(r.write.history)} / ${fmt(r.write.empty)} (fold ${fmt(r.write.foldMs)} ms) | ${r.ingest.peakMiB.toFixed(0)} | ${r.load.map((l) => l.toFixed(1)).join(' / ')} |`);
  const peerRows = peers.map((p) => `| ${p.label} | ${p.bytesPerReading.toFixed(2)} | ${fmt(p.loadSeconds)} | ${median(p.detail).toFixed(1)} | ${median(p.raw24h).toFixed(1)} | ${median(p.dailyUsage).toFixed(1)} | ${median(p.dmaBalance).toFixed(1)} |`);
  return {
    id: 'history',
    title: "History: a city's readings stay fast and bounded",
    command: `BENCH_SUITES=history${ctx.quick ? ' BENCH_QUICK=1' : ''}${process.env.BENCH_HISTORY_DAYS ? ` BENCH_HISTORY_DAYS=${process.env.BENCH_HISTORY_DAYS}` : ''} npm run bench`,
    method:
      `${fmt(fleet.meters)} water meters in ${fleet.dmas} DMAs (scripts/bench-meters.ts's layout), one reading every 15 minutes, generated in bulk straight into the store's tables ` +
      '(bench/lib/history-generate.ts: DuckDB INSERT … SELECT, day by day in arrival order, with the registry, device status and completeness ledger such a fleet has; registers rise by household use, ' +
      'flow is the quarter\'s litres), ending at the current Japan day; each size adds older days. Rollups rebuilt by `npm run store -- rebuild-rollups --from … --to …`. Then `npm start` ' +
      '(SIMULATORS=off) on that store: seconds from spawn to `/api/v1/health` "ok"; the questions over HTTP with the admin token, one at a time, after the water figures are kept and the water rules\' first read is done (a store that has been running has both), each first asked of 20 other meters (10 other DMAs) as a server that has been answering has been (those first answers after a start are reported apart; the peers are warmed the same way): device detail of 200 meters (p50 and p99 of each round), ' +
      "one meter's last 24 h raw (20 meters), one meter's daily usage over the whole history (`interval=1d&agg=usage`, 20 meters), one DMA's daily balance over the whole history " +
      '(`/api/v1/series?dma=…&reading=indexL&interval=1d&agg=usage`, 10 DMAs); each figure\'s runs are rounds of those. RSS of the `npm start` process after them (its peak, VmHWM, includes the water rules\' first read). Live write rate: one cycle of the fleet ' +
      '(130,000 messages) written in batches of 1,000 through the product\'s writer (latest values and rollups included) plus the fold the maintenance loop does for them, into this store and into an empty one, each in a process of its own. ' +
      'Disk: the DuckDB file and its WAL plus DATA_DIR/hot (segments) and DATA_DIR/archive, over the readings generated; each generated day is followed by `npm run store -- archive` (what the ingest does every hour: closed days\' raw rows to Parquet segments, those past RAW_RETENTION_DAYS to the archive), so the file is a running store\'s. Peers: InfluxDB 1.6 and VictoriaMetrics loaded with the first day, as our InfluxDB writer writes it, ' +
      'meter by meter; their data directories once compaction settled; the same questions in InfluxQL (spread per day at Tokyo midnight, subquery per meter for the DMA) and MetricsQL (increase over each day).',
    figures,
    notes: [
      '| days | readings | generate (s) | archive runs (s) | rebuild-rollups (s) | DuckDB file (MiB) | segments (MiB) | archive (MiB) | bytes/reading | live write msg/s, holding / empty | ingest peak RSS (MiB) | load 1/5/15 min |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      ...(peers.length ? ['| peer (first day) | bytes/reading | load (s) | device detail p50 (ms) | 24 h raw (ms) | daily usage (ms) | DMA balance (ms) |', '|---|---|---|---|---|---|---|', ...peerRows] : []),
    ].join('\n'),
  };
}

export const history: Suite = { id: 'history', title: "History: a city's readings stay fast and bounded", run };

