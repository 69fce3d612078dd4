/**
 * The fuzz run: the real broker (aedes + our auth/ACL/limits) and the real ingest (pipeline, DuckDB
 * store on DATA_DIR, alerts, API) in this process; generated and mutated messages go (1) over real
 * MQTT for `wireShare` of them and (2) straight into the ingest pipeline for the rest; then malformed
 * raw MQTT packet sequences go at the broker. Every message is accounted for:
 *   sent = stored + duplicate + state + command-ack + ignored + dead-letter + denied-by-broker.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { loadIngestConfig, startIngestService, type Outcome, type OutcomeKind } from '@tsunagaru/ingest';
import { MessageFactory, type Family, type FuzzDevice, type FuzzMessage } from './messages.js';
import { CrashCounter, countingLogger, RssMonitor } from './monitor.js';
import { runRawPhase, type RawPhaseResult } from './raw-phase.js';
import { Rng } from './rng.js';
import { runWirePhase, type WireResult } from './wire.js';

export interface FuzzOptions {
  /** Generated messages in all (wire + direct). */
  messages: number;
  /** Share sent over real MQTT (0..1); the rest goes straight into the ingest pipeline. */
  wireShare: number;
  /** Malformed raw-TCP packet sequences sent at the broker afterwards. */
  rawPackets: number;
  seed: number;
  /** DATA_DIR; default a fresh directory on tmpfs (/dev/shm) when there is one, else the OS temp dir. */
  dataDir?: string;
  connections?: number;
  inflight?: number;
  /** Messages per pipeline batch in the direct share. */
  batch?: number;
  log?: (line: string) => void;
}

type Tally = Record<OutcomeKind, number>;
const emptyTally = (): Tally => ({ stored: 0, duplicate: 0, state: 0, 'command-ack': 0, ignored: 0, 'dead-letter': 0 });
const sum = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);

export interface FuzzReport {
  seed: number;
  sent: { total: number; wire: number; direct: number };
  outcomes: Tally & { deniedByBroker: number };
  wire: WireResult & { ingestOutcomes: Tally; brokerDenials: Record<string, number> };
  direct: { outcomes: Tally; rejected: number; rejections: string[]; byFamily: Partial<Record<Family, Partial<Tally> & { sent: number }>> };
  raw: RawPhaseResult;
  checks: { storedRowsInDb: number; deadLettersInDb: number; deadLettersWithoutReason: number; maxDeadLetters: number };
  crashes: number;
  crashMessages: string[];
  errorLogLines: string[];
  rss: ReturnType<RssMonitor['stop']> & { checkpoints: RssMonitor['checkpoints'] };
  durationMs: number;
  discrepancies: string[];
  ok: boolean;
}

const TYPES: DeviceType[] = ['smart-pole', 'water-meter', 'bs-power', 'ring-node'];

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const rng = new Rng(options.seed);
  const dataDir = options.dataDir ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsunagaru-fuzz-'));
  const crashes = new CrashCounter();
  const rss = new RssMonitor();
  const { logger, errors } = countingLogger('error');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });

  const devices: FuzzDevice[] = TYPES.flatMap((type) => Array.from({ length: 8 }, (_, i) => ({ id: `fz-${type}-${i}`, type })));
  const strangers: FuzzDevice[] = TYPES.map((type) => ({ id: `fz-${type}-stranger`, type }));
  const secrets: Record<string, string> = {};
  for (const d of devices) secrets[d.id] = (await registry.provision({ id: d.id, type: d.type, attributes: { fuzz: true } })).secret;
  const ingestSecret = 'fuzz-ingest-secret-000000000001';
  await registry.upsertService('tsunagaru-ingest', 'ingest', ingestSecret);

  // Publish rate limits are off: the bulk devices send far above any real device's rate on purpose
  // (the limiter has its own live tests); every other broker defence is as shipped.
  const broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }), publishLimits: false });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const phase = { name: 'wire' as 'wire' | 'direct' | 'raw', tallies: { wire: emptyTally(), direct: emptyTally(), raw: emptyTally() }, missingReason: 0 };
  const config = loadIngestConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: 'fuzz-admin-token-0000000000', LOG_LEVEL: 'error' });
  const ingest = await startIngestService({
    config: { ...config, mqttUrl: `mqtt://127.0.0.1:${port}` },
    mqttPassword: ingestSecret,
    registry,
    logger: logger.child({ service: 'ingest' }),
    onOutcome: (o: Outcome) => {
      phase.tallies[phase.name][o.kind]++;
      if (o.kind === 'dead-letter' && !(typeof o.reason === 'string' && o.reason.trim().length > 0)) phase.missingReason++;
    },
  });

  const factory = new MessageFactory(rng, devices, strangers, 1);
  const wireCount = Math.round(options.messages * options.wireShare);
  const directCount = options.messages - wireCount;
  const checkpointEvery = Math.max(1, Math.floor(options.messages / 20));
  let nextCheckpoint = 0;
  const progress = (sent: number) => {
    rss.context = `${phase.name} phase, ${sent.toLocaleString('en')} sent`;
    if (sent < nextCheckpoint) return;
    rss.checkpoint(sent);
    log(`  ${sent.toLocaleString('en')} sent · rss ${rss.sample()} MB · ${Math.round((Date.now() - started) / 1000)} s`);
    while (sent >= nextCheckpoint) nextCheckpoint += checkpointEvery;
  };
  progress(0);

  // 1. Over the wire.
  log(`wire: ${wireCount.toLocaleString('en')} messages over MQTT`);
  const deniedBefore = { ...broker.stats().denials };
  const wire = await runWirePhase({
    port,
    devices,
    secrets,
    factory,
    count: wireCount,
    connections: options.connections ?? 8,
    inflight: options.inflight ?? 64,
    backlogLimit: 2000,
    ingestProcessed: () => sum(phase.tallies.wire),
    onProgress: progress,
  });
  await waitForDrain(() => sum(phase.tallies.wire), wire.accepted, () => ingest.pipeline.counters().storageErrors, log);
  const brokerDenials = Object.fromEntries(Object.entries(broker.stats().denials).map(([k, v]) => [k, v - (deniedBefore[k as keyof typeof deniedBefore] ?? 0)]).filter(([, v]) => (v as number) > 0));
  progress(wire.sent);

  // 2. Straight into the pipeline, in batches when the pipeline has them.
  log(`direct: ${directCount.toLocaleString('en')} messages into the ingest pipeline`);
  phase.name = 'direct';
  const direct = await runDirectPhase(ingest.pipeline, factory, directCount, options.batch ?? 64, (n) => progress(wire.sent + n));
  progress(options.messages);

  // 3. Malformed MQTT at the broker, then a canary message through broker and ingest.
  log(`raw: ${options.rawPackets.toLocaleString('en')} malformed packet sequences`);
  phase.name = 'raw';
  rss.context = 'raw phase';
  const raw = await runRawPhase({
    port,
    rng,
    device: devices[0]!,
    secret: secrets[devices[0]!.id]!,
    count: options.rawPackets,
    canaryStored: () => phase.tallies.raw.stored,
    onProgress: (n) => log(`  ${n.toLocaleString('en')} malformed sequences · rss ${rss.sample()} MB · ${Math.round((Date.now() - started) / 1000)} s`),
  });

  rss.context = 'store checks after the run';
  const db = ingest.store.db;
  const one = async (sql: string) => Number((await db.all(sql))[0]?.n ?? 0);
  const checks = {
    storedRowsInDb: await one('SELECT count(*) AS n FROM messages'),
    deadLettersInDb: await one('SELECT count(*) AS n FROM dead_letters'),
    deadLettersWithoutReason: await one("SELECT count(*) AS n FROM dead_letters WHERE reason IS NULL OR trim(reason) = ''"),
    maxDeadLetters: 100_000,
  };
  rss.context = 'closing the ingest (store checkpoint)';
  await ingest.close();
  rss.context = 'closed';
  await broker.close();
  await registry.close();
  crashes.uninstall();
  if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });

  const outcomes = emptyTally();
  for (const t of [phase.tallies.wire, phase.tallies.direct]) for (const k of Object.keys(t) as OutcomeKind[]) outcomes[k] += t[k];
  const deniedByBroker = sum(brokerDenials);
  const discrepancies: string[] = [];
  const expect = (ok: boolean, what: string) => ok || discrepancies.push(what);
  expect(wire.sent + direct.sent === options.messages, `sent ${wire.sent} + ${direct.sent} ≠ ${options.messages}`);
  expect(wire.lost === 0, `${wire.lost} wire messages neither acknowledged nor refused`);
  expect(wire.unexpectedlyAccepted === 0, `${wire.unexpectedlyAccepted} messages accepted that the ACL should refuse`);
  expect(sum(phase.tallies.wire) === wire.accepted, `ingest finished ${sum(phase.tallies.wire)} wire messages, broker accepted ${wire.accepted}`);
  expect(deniedByBroker === wire.denied, `broker counted ${deniedByBroker} denials, publishers saw ${wire.denied} refusals`);
  expect(direct.rejected === 0, `${direct.rejected} direct messages made the pipeline throw`);
  expect(sum(phase.tallies.direct) === direct.sent, `pipeline finished ${sum(phase.tallies.direct)} of ${direct.sent} direct messages`);
  expect(sum(outcomes) + deniedByBroker === options.messages, `outcomes ${sum(outcomes)} + denied ${deniedByBroker} ≠ sent ${options.messages}`);
  expect(phase.missingReason === 0 && checks.deadLettersWithoutReason === 0, `${phase.missingReason + checks.deadLettersWithoutReason} dead letters without a reason`);
  const storedAll = outcomes.stored + phase.tallies.raw.stored; // + the canary
  expect(checks.storedRowsInDb === storedAll, `${checks.storedRowsInDb} message rows in the store, ${storedAll} reported stored`);
  const dl = outcomes['dead-letter'] + phase.tallies.raw['dead-letter'];
  expect(checks.deadLettersInDb <= dl && checks.deadLettersInDb >= Math.min(dl, checks.maxDeadLetters), `${checks.deadLettersInDb} dead letters kept of ${dl}`);
  expect(raw.canaryStored, 'the canary after the malformed packets was not stored');
  expect(crashes.count === 0, `${crashes.count} uncaught errors`);
  const rssReport = { ...rss.stop(), checkpoints: rss.checkpoints };
  return {
    seed: options.seed,
    sent: { total: options.messages, wire: wire.sent, direct: direct.sent },
    outcomes: { ...outcomes, deniedByBroker },
    wire: { ...wire, ingestOutcomes: phase.tallies.wire, brokerDenials },
    direct: { outcomes: phase.tallies.direct, rejected: direct.rejected, rejections: direct.rejections, byFamily: direct.byFamily },
    raw,
    checks,
    crashes: crashes.count,
    crashMessages: crashes.messages,
    errorLogLines: errors,
    rss: rssReport,
    durationMs: Date.now() - started,
    discrepancies,
    ok: discrepancies.length === 0,
  };
}

async function waitForDrain(done: () => number, target: number, storageErrors: () => number, log: (s: string) => void): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  while (done() < target) {
    if (done() !== last) [last, lastChange] = [done(), Date.now()];
    if (Date.now() - lastChange > 60_000) {
      log(`  ingest stalled at ${done()} of ${target} (storage errors ${storageErrors()})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Pipeline = Awaited<ReturnType<typeof startIngestService>>['pipeline'];
type BatchCapable = { handleBatch?: (b: ReadonlyArray<{ topic: string; payload: Buffer; receivedAt: number }>) => Promise<Outcome[]> };

async function runDirectPhase(pipeline: Pipeline, factory: MessageFactory, count: number, batchSize: number, progress: (n: number) => void) {
  const byFamily: FuzzReport['direct']['byFamily'] = {};
  let sent = 0;
  let rejected = 0;
  const handleBatch = (pipeline as unknown as BatchCapable).handleBatch?.bind(pipeline);
  const record = (m: FuzzMessage, o: Outcome) => {
    const f = (byFamily[m.family] ??= { sent: 0 });
    f[o.kind] = (f[o.kind] ?? 0) + 1;
  };
  const rejections: string[] = [];
  const one = async (m: FuzzMessage) => {
    try {
      record(m, await pipeline.handle(m.topic, m.payload));
    } catch (err) {
      rejected++;
      if (rejections.length < 10) rejections.push(`${m.family} ${JSON.stringify(m.topic.slice(0, 80))} ${JSON.stringify(m.payload.subarray(0, 160).toString('utf8'))}: ${(err as Error).message.slice(0, 300)}`);
    }
  };
  while (sent < count) {
    const batch = Array.from({ length: Math.min(batchSize, count - sent) }, () => factory.next());
    for (const m of batch) (byFamily[m.family] ??= { sent: 0 }).sent++;
    if (handleBatch) {
      try {
        const outcomes = await handleBatch(batch.map((m) => ({ topic: m.topic, payload: m.payload, receivedAt: Date.now() })));
        batch.forEach((m, i) => record(m, outcomes[i]!));
      } catch {
        for (const m of batch) await one(m); // find the message that made the batch fail
      }
    } else {
      for (const m of batch) await one(m);
    }
    const before = sent;
    sent += batch.length;
    if (Math.floor(sent / 10_000) > Math.floor(before / 10_000)) progress(sent);
  }
  return { sent, rejected, rejections, byFamily };
}
