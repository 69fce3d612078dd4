/**
 * `npm run bench:agent [-- --hours 24 --sample-sec 1 --paced]`
 *
 * Store-and-forward benchmark: buffers a backlog of bs-power samples on disk the way the agent does
 * while the broker is unreachable (DiskBuffer + SampleBatcher, fsync per sample), printing RSS as it
 * grows; then connects to a local aedes broker and replays it through the agent's Forwarder, printing
 * the replay rate. `--paced` applies the agent's default publish pacing (40 messages/s, 192 KiB/s),
 * which keeps a device under our broker's per-device limits; without it the rate is the agent's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync } from 'mqtt';
import { Forwarder } from '../src/agent/forwarder.js';
import { MessageFactory } from '../src/agent/message-factory.js';
import { RateLimiter } from '../src/agent/rate-limiter.js';
import { SampleBatcher } from '../src/agent/sample-batcher.js';
import { DiskBuffer } from '../src/buffer/disk-buffer.js';
import { DeviceSession } from '../src/device-session.js';
import { FileIdentityStore } from '../src/identity-store.js';
import { jsonLogger } from '../src/json-logger.js';
import { startTestBroker } from '../src/testing/index.js';

const { values } = parseArgs({ options: { hours: { type: 'string' }, 'sample-sec': { type: 'string' }, paced: { type: 'boolean' }, dir: { type: 'string' } } });
const hours = Number(values.hours ?? 24);
const sampleSec = Number(values['sample-sec'] ?? 1);
const total = Math.round((hours * 3600) / sampleSec);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'tsunagaru-bench-'));
const ID = 'bs-bench-01';
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const rss = () => process.memoryUsage().rss;
const warn = jsonLogger('warn', process.stderr);

/** A plausible DC plant reading: the full bs-power sample, ~270 bytes of JSON. */
function sample(i: number, t0: number): { ts: number } & Record<string, unknown> {
  const d = Math.sin(i / 500);
  const r = (x: number, p = 1) => Math.round(x * 10 ** p) / 10 ** p;
  return {
    ts: t0 + i * sampleSec * 1000, mains: 'on', rectifierV: r(53.5 + 0.03 * d, 2), loadA: r(36 + 8 * d), batteryV: r(53.45 + 0.02 * d, 2),
    batteryA: r(0.3 + 0.1 * d, 2), batteryTempC: r(25 + 3 * d), batterySocPct: 100, batterySohPct: 91.3, batteryCapacityAh: 400,
    generator: 'off', fuelPct: 88.8, backhaul: 'fiber', runtimeMin: Math.round(900 + 100 * d),
  };
}

async function main(): Promise<void> {
  const identity = new FileIdentityStore({ dir, deviceId: ID });
  await identity.nextBoot();
  const buffer = new DiskBuffer({ dir: join(dir, 'buffer'), maxBytes: 2 * 1024 ** 3, historyBytes: 0, logger: warn });
  await buffer.open();
  const factory = new MessageFactory('bs-power', ID, identity, process.env.NODE_ENV !== 'production');
  const batcher = new SampleBatcher(buffer, factory);

  process.stdout.write(`buffering ${total} samples (${hours} h at one per ${sampleSec} s) in ${dir}\n`);
  process.stdout.write('   progress    samples   disk MiB   RSS MiB   heap MiB   elapsed s\n');
  const t0 = Date.now();
  const start = performance.now();
  const rssAt: number[] = [];
  for (let i = 0; i < total; i++) {
    await batcher.add(sample(i, t0 - hours * 3_600_000), false);
    if ((i + 1) % Math.ceil(total / 10) === 0 || i === total - 1) {
      rssAt.push(rss());
      const s = buffer.stats();
      process.stdout.write(`${`${Math.round(((i + 1) / total) * 100)}%`.padStart(11)}${String(i + 1).padStart(11)}${mib(s.bytes).padStart(11)}${mib(rss()).padStart(10)}${mib(process.memoryUsage().heapUsed).padStart(11)}${((performance.now() - start) / 1000).toFixed(1).padStart(12)}\n`);
    }
  }
  await batcher.seal('replay');
  const buffered = buffer.stats();
  const bufferSec = (performance.now() - start) / 1000;
  process.stdout.write(`buffered: ${buffered.pending.replay} messages, ${buffered.pendingSamples} samples, ${mib(buffered.bytes)} MiB on disk, ${Math.round(total / bufferSec)} samples/s (fsync per sample)\n`);
  process.stdout.write(`RSS while buffering: ${mib(rssAt[0]!)} MiB at 10% → ${mib(rssAt.at(-1)!)} MiB at 100% (${mib(rssAt.at(-1)! - rssAt[0]!)} MiB growth for ${Math.round(total * 0.9)} more samples)\n`);

  const broker = await startTestBroker();
  const sub = await connectAsync(broker.url, { clientId: 'bench-sink', protocolVersion: 4 });
  let received = 0;
  let receivedSamples = 0;
  let lastSeq = -1;
  let seqOrderBreaks = 0;
  sub.on('message', (_topic, payload) => {
    const m = JSON.parse(payload.toString()) as { seq: number; samples: unknown[] };
    received++;
    receivedSamples += m.samples.length;
    if (m.seq !== lastSeq + 1) seqOrderBreaks++;
    lastSeq = m.seq;
  });
  await sub.subscribeAsync(`tsunagaru/v1/bs-power/${ID}/telemetry`, { qos: 1 });
  const session = new DeviceSession({ url: broker.url, deviceId: ID, type: 'bs-power', secret: 'bench', fw: 'bench', model: 'bench', sampleSec, identity });
  await session.start();
  const limiter = values.paced ? new RateLimiter({ messagesPerSec: 40, bytesPerSec: 192 * 1024 }) : undefined;
  const forwarder = new Forwarder(buffer, (topic, payload) => session.publishPrepared(topic, payload), { type: 'bs-power', deviceId: ID, maxInFlight: 16, ...(limiter ? { limiter } : {}), logger: warn, clock: Date.now });
  const rStart = performance.now();
  let rssMax = rss();
  forwarder.setConnected(true);
  while (buffer.stats().pendingSamples > 0 || forwarder.stats().inFlight > 0 || received < buffered.pending.replay) {
    await new Promise((r) => setTimeout(r, 50));
    rssMax = Math.max(rssMax, rss());
  }
  const replaySec = (performance.now() - rStart) / 1000;
  const f = forwarder.stats();
  process.stdout.write(`replayed${values.paced ? ' (paced: 40 msg/s, 192 KiB/s)' : ''}: ${f.published} messages, ${f.publishedSamples} samples in ${replaySec.toFixed(2)} s = ${Math.round(f.publishedSamples / replaySec)} samples/s, ${(f.published / replaySec).toFixed(1)} messages/s, ${mib(buffered.bytes / 2 / replaySec)} MiB/s of payload\n`);
  process.stdout.write(`broker side: ${received} messages, ${receivedSamples} samples, seq out of order ${seqOrderBreaks} time(s)\n`);
  process.stdout.write(`RSS during replay: max ${mib(rssMax)} MiB (includes the in-process aedes broker and subscriber)\n`);
  forwarder.stop();
  await session.stop();
  await sub.endAsync();
  await broker.close();
  await buffer.close();
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
