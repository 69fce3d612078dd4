/**
 * Broker fan-in: many authenticated devices each publish telemetry on their own contract-v1 topic,
 * one ingest account receives everything through `tsunagaru/v1/#`. Ours against mosquitto, both
 * with authentication and ACLs on, the same load generator and subscriber processes for both.
 */
import { join } from 'node:path';
import { makeFleet, REPO_ROOT, startBroker, INGEST_USERNAME, type BrokerKind, type Fleet, type RunningBroker } from '../lib/brokers.js';
import { CpuMeter, formatCpu, loadBoundWarning } from '../lib/proc.js';
import type { BenchContext, Figure, Suite, SuiteResult } from '../lib/types.js';
import { startWorker, type Worker } from '../lib/worker.js';

const DEVICE_WORKER = join(REPO_ROOT, 'bench/lib/load/device-worker.ts');
const SUBSCRIBER_WORKER = join(REPO_ROOT, 'bench/lib/load/subscriber-worker.ts');
const PAYLOAD_BYTES = 200;
const QOS1_WINDOW = 10;
/** QoS 0: messages per publisher written but not yet delivered, at most. */
const QOS0_BUDGET_PER_PUBLISHER = 100;

export interface Load {
  publishers: number;
  saturateMs: number;
  /** Delivered messages are counted from warmupMs into a phase until warmupMs before its end. */
  warmupMs: number;
  latencyRate: number;
  latencyMs: number;
}

function loadFor(quick: boolean): Load {
  return quick
    ? { publishers: 20, saturateMs: 3000, warmupMs: 500, latencyRate: 500, latencyMs: 3000 }
    : { publishers: 100, saturateMs: 6000, warmupMs: 1000, latencyRate: 2000, latencyMs: 6000 };
}

interface RunResult {
  qos0Rate: number;
  qos0LossPct: number;
  qos1Rate: number;
  /** QoS 1 messages the broker acknowledged to their publishers and never delivered, % of those sent. */
  qos1LossPct: number;
  p50: number;
  p99: number;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function delivered(subscriber: Worker): Promise<number> {
  return (await subscriber.request<{ type: string; delivered: number }>({ type: 'count' })).delivered;
}

/**
 * Waits until the subscriber's count reaches `target`, or stops growing for `stallMs` (a broker still
 * delivering a backlog keeps it growing; one that dropped messages does not); returns it.
 */
async function drained(subscriber: Worker, target: number, stallMs: number): Promise<number> {
  let last = await delivered(subscriber);
  let stableSince = Date.now();
  const deadline = Date.now() + 120_000;
  while (last < target && Date.now() < deadline && Date.now() - stableSince < stallMs) {
    await sleep(100);
    const now = await delivered(subscriber);
    if (now !== last) stableSince = Date.now();
    last = now;
  }
  return last;
}

interface PhaseDone {
  type: string;
  sent: number;
  acked: number;
  cpu: number;
  closedDuringPhase: number;
}

/** One saturation phase: delivered msg/s in the middle of it, and what was lost by the end. */
export async function saturate(qos: 0 | 1, load: Load, broker: RunningBroker, devices: Worker, subscriber: Worker) {
  const start = await delivered(subscriber);
  const budget = load.publishers * QOS0_BUDGET_PER_PUBLISHER;
  const done = devices.request<PhaseDone>({ type: 'phase', qos, mode: 'saturate', durationMs: load.saturateMs, window: QOS1_WINDOW, budget, payloadBytes: PAYLOAD_BYTES });
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  // QoS 0 flow control: relay what the subscriber has received to the generator (see `budget`).
  const relay = (async () => {
    while (qos === 0 && !finished) {
      devices.notify({ type: 'credit', delivered: (await delivered(subscriber)) - start });
      await sleep(5);
    }
  })();
  await sleep(load.warmupMs);
  const cpu = new CpuMeter({ broker: broker.pid, generator: devices.pid, subscriber: subscriber.pid });
  const c1 = await delivered(subscriber);
  const t1 = performance.now();
  await sleep(load.saturateMs - 2 * load.warmupMs);
  const c2 = await delivered(subscriber);
  const rate = (c2 - c1) / ((performance.now() - t1) / 1000);
  const usage = cpu.read();
  const phase = await done;
  await relay;
  // QoS 1: acknowledged to the publishers, so the broker holds every message it has not delivered yet;
  // give a backlog time to arrive (a broker that writes its database may pause deliveries for seconds).
  const end = await drained(subscriber, start + phase.sent, qos === 1 ? 10_000 : 2000);
  if (phase.closedDuringPhase > 0) throw new Error(`${broker.label} closed ${phase.closedDuringPhase} publisher connections during QoS ${qos} (a limit or ACL refusal?)`);
  const lost = phase.sent - (end - start);
  return { rate, lost, sent: phase.sent, usage };
}

async function runOnce(kind: BrokerKind, fleet: Fleet, load: Load, ctx: BenchContext, label: string): Promise<RunResult> {
  const workers: Worker[] = [];
  let broker: RunningBroker | undefined;
  try {
    broker = await startBroker(kind, fleet);
    const subscriber = await startWorker(SUBSCRIBER_WORKER, 'subscriber');
    workers.push(subscriber);
    await subscriber.request({ type: 'connect', host: '127.0.0.1', port: broker.port, username: fleet.ingest.username, password: fleet.ingest.password, filter: 'tsunagaru/v1/#' });
    const devices = await startWorker(DEVICE_WORKER, 'publishers');
    workers.push(devices);
    const c = await devices.request<{ type: string; connected: number; firstError?: string }>({
      type: 'connect', host: '127.0.0.1', port: broker.port, devices: fleet.devices, concurrency: 32, sourceAddresses: 32,
    });
    if (c.connected !== fleet.devices.length) throw new Error(`${label}: only ${c.connected} of ${fleet.devices.length} publishers logged in (${c.firstError})`);

    ctx.progress(`${label}: QoS 0 saturation, ${load.publishers} publishers`);
    const q0 = await saturate(0, load, broker, devices, subscriber);
    ctx.progress(`${label}: QoS 0 ${Math.round(q0.rate)} msg/s delivered, lost ${q0.lost} of ${q0.sent}; CPU ${formatCpu(q0.usage)}`);
    ctx.progress(`${label}: QoS 1 saturation, window ${QOS1_WINDOW} per publisher`);
    const q1 = await saturate(1, load, broker, devices, subscriber);
    // Ours never loses a message it acknowledged: that is a failure. The peer's loss is a figure of the run.
    if (q1.lost > 0 && kind === 'ours') throw new Error(`${label}: ${q1.lost} QoS 1 messages acknowledged to publishers but not delivered`);
    const dropped = q1.lost > 0 ? droppedLog(broker.output()) : '';
    ctx.progress(`${label}: QoS 1 ${Math.round(q1.rate)} msg/s delivered${q1.lost > 0 ? `; ${q1.lost} of ${q1.sent} acknowledged to publishers and never delivered${dropped}` : ''}; CPU ${formatCpu(q1.usage)}`);

    ctx.progress(`${label}: latency at ${load.latencyRate} msg/s, QoS 1`);
    const done = devices.request<PhaseDone>({ type: 'phase', qos: 1, mode: 'rate', rate: load.latencyRate, durationMs: load.latencyMs, payloadBytes: PAYLOAD_BYTES });
    await sleep(load.warmupMs);
    await subscriber.request({ type: 'record', on: true });
    await sleep(load.latencyMs - 2 * load.warmupMs);
    await subscriber.request({ type: 'record', on: false });
    await done;
    const lat = await subscriber.request<{ type: string; count: number; p50: number; p99: number; max: number }>({ type: 'latencies' });
    if (lat.count === 0) throw new Error(`${label}: no message delivered during the latency phase`);
    ctx.progress(`${label}: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms, max ${lat.max.toFixed(1)} ms over ${lat.count} messages`);
    return {
      qos0Rate: q0.rate,
      qos0LossPct: (100 * q0.lost) / q0.sent,
      qos1Rate: q1.rate,
      qos1LossPct: (100 * q1.lost) / q1.sent,
      p50: lat.p50,
      p99: lat.p99,
      notes: [
        `${label}: QoS 0 ${Math.round(q0.rate).toLocaleString('en-US')} msg/s (CPU ${formatCpu(q0.usage)}; ${q0.lost} of ${q0.sent} lost${warn(q0.usage)}); ` +
          `QoS 1 ${Math.round(q1.rate).toLocaleString('en-US')} msg/s (CPU ${formatCpu(q1.usage)}${warn(q1.usage)}${q1.lost > 0 ? `; **${q1.lost} of ${q1.sent} acknowledged to their publishers and never delivered**${dropped}` : ''}); latency over ${lat.count} messages, max ${lat.max.toFixed(1)} ms`,
      ],
    };
  } finally {
    for (const w of workers.reverse()) await w.stop();
    await broker?.stop();
  }
}

/** What the profiler (`npx tsx bench/lib/profile-fan-in.ts`) found, and what changed because of it. */
const PROFILE_NOTES = [
  '**Profile** (`npx tsx bench/lib/profile-fan-in.ts both`: this fan-in load, our broker under `node --cpu-prof`; measured on the shared 2-core ' +
    'development VM at load average 6–9, so single runs, not medians):',
  '',
  '- Before: half the broker\'s CPU was `writeBuffer`, one `write` syscall per *chunk*: mqtt-packet writes each packet in several small ' +
    'pieces, and our packet-size guard (the stream between socket and aedes that refuses oversized packets before they are buffered) forwarded ' +
    'each piece on its own and waited for its callback. The guard then forwarded a corked batch as one write and corked the socket until the next ' +
    'event-loop turn, so a burst of deliveries to the subscriber left in one `writev`. Fan-in, 100 publishers: QoS 0 ~23,500 → ~59,000 msg/s, ' +
    'QoS 1 ~11,800 → ~33,000 msg/s (same machine, minutes apart).',
  '- The ACL check parsed every topic (`parseTopic`, ~3 % of CPU); a device publishing on its own `tsunagaru/v1/<type>/<id>/<channel>` now ' +
    'matches a prefix built once per session (same verdicts, tested); the full check remains for everything else (gateways, denials).',
  '- tsx compiles with esbuild `keepNames`, so each arrow function created per message in `authorizePublish` (the `deny` and ' +
    '`acknowledge` closures) cost a `__name` call (~6 % inclusive); they are now defined once. Our code (`broker.ts` hooks, ACL, guard ' +
    'bookkeeping) went from ~10 % to ~4 % of the broker\'s CPU; single profiled runs after all three changes: QoS 0 ~74,000, QoS 1 ~40,000 msg/s.',
  '- Where the time goes now is aedes itself on one thread: parsing (~23 % inclusive), routing and delivery through mqemitter/qlobber (~20 %), socket writes ' +
    '(~12 %), its `debug` calls (~3 %) and GC (~8 %). With the broker at 90–100 % of a core at saturation, more throughput needs fewer ' +
    'allocations per message in aedes or several broker processes (the Redis cluster mode), not faster hooks.',
  '- Then two changes measured A/B on a quiet machine (QoS 0, 3 interleaved runs per variant, `bench/lib` harness, mosquitto in the same runs ' +
    'at 104–118k msg/s): **a 64 MiB young generation** (`--max-semi-space-size=64`, now in `npm run broker`, `npm start` and the compose ' +
    'commands; V8\'s default is 16 MiB, and a scavenge every few thousand messages promoted short-lived packets): 88–107k → 113–120k msg/s at ' +
    'lower CPU (32 MiB: 104–107k; 128 MiB: no better than 64). And **the guard collecting outgoing chunks itself**: mqtt-packet writes ' +
    '~5 chunks per PUBLISH, each went through Writable\'s buffering in the guard before the socket\'s; `write` now only appends, and one ' +
    'socket write per event-loop turn sends the lot (it emits `drain` itself): median 117k → 125k msg/s.',
  '- Logins: the main thread is mostly idle; scrypt on libuv\'s thread pool sets the pace (see the connections suite).',
].join('\n');

/** What the broker logged about dropping messages, as a note (mosquitto: "Outgoing messages are being dropped for client …"). */
function droppedLog(output: string): string {
  const line = output.split('\n').find((l) => /being dropped/i.test(l));
  return line ? ` (it logged: "${line.trim().slice(0, 160)}")` : '';
}

const warn = (usage: Record<string, number>): string => {
  const w = loadBoundWarning(usage);
  return w ? `; ${w}` : '';
};

const throughputGoal = (_ours: number, ratio: number | undefined): boolean => ratio !== undefined && ratio >= 1;

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const load = loadFor(ctx.quick);
  // One secret and one production-cost scrypt hash for the fleet: a login still verifies a full N=16384 hash.
  const fleet: Fleet = {
    devices: makeFleet('fanin', load.publishers, 16384, 'bench-fan-in-secret-0123456789'),
    ingest: { username: INGEST_USERNAME, password: 'bench-ingest-secret-0123456789' },
  };
  const ours: RunResult[] = [];
  const peer: RunResult[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    // Alternate who goes first, so a slow drift of the machine does not favour one broker.
    const order: BrokerKind[] = i % 2 === 0 ? ['ours', 'mosquitto'] : ['mosquitto', 'ours'];
    for (const kind of order) {
      const label = `run ${i + 1}/${ctx.runs}: ${kind}`;
      (kind === 'ours' ? ours : peer).push(await runOnce(kind, fleet, load, ctx, label));
    }
  }
  const figure = (name: string, unit: string, higherIsBetter: boolean, pick: (r: RunResult) => number, goal?: string): Figure => ({
    name,
    unit,
    higherIsBetter,
    ours: { runs: ours.map(pick) },
    peer: { label: 'mosquitto 2.0', runs: peer.map(pick) },
    ...(goal ? { goal, goalCheck: throughputGoal } : {}),
  });
  return {
    id: 'broker-fan-in',
    title: 'Broker fan-in: devices → one ingest subscriber',
    command: 'BENCH_SUITES=broker-fan-in npm run bench',
    method:
      `${load.publishers} authenticated devices (clean sessions, one connection each, ${PAYLOAD_BYTES}-byte JSON payloads) each publish on ` +
      'their own `tsunagaru/v1/<type>/<id>/telemetry`; the ingest service account, subscribed to `tsunagaru/v1/#` at QoS 1, receives them. ' +
      'Authentication and topic ACLs are on in both brokers: ours is `tsx --max-semi-space-size=64 broker/src/main.ts` (the `npm run broker` entry point, started with the node flags of that script) on a file ' +
      'registry with scrypt N=16384 hashes, logging at info; mosquitto 2.0 runs the passwd/ACL files `writeMosquittoConfig` generates. ' +
      'Our per-device publish rate limits are **off** for this bench (`MQTT_DEVICE_MSGS_PER_SEC=0`, `MQTT_DEVICE_BYTES_PER_SEC=0`): each device here ' +
      'publishes far above the 50 msg/s a real one may, and mosquitto has no such limit. The load generator (one child process, raw sockets, ' +
      'PUBLISH packets encoded once with mqtt-packet and patched per message) and the subscriber (another child process) are the same for both brokers. ' +
      `Saturation: QoS 0 as fast as the broker takes it, with at most ${QOS0_BUDGET_PER_PUBLISHER} messages per publisher written but not yet delivered ` +
        '(the subscriber\'s count is relayed to the generator every few ms; without this bound the loopback socket buffers hold minutes of backlog); ' +
        `QoS 1 with ${QOS1_WINDOW} messages in flight per device (a new one per PUBACK). ` +
      `Delivered msg/s is counted at the subscriber over the middle of a ${load.saturateMs / 1000} s phase (${load.warmupMs / 1000} s cut at each end); ` +
      'loss is what the generator wrote minus what arrived once the broker had drained (QoS 1: the count stopped growing for 10 s; a QoS 1 message ' +
        'lost this way was acknowledged to its publisher, so the device will never send it again: for ours the run fails, for the peer it is a figure). ' +
      'mosquitto is set up as a user running an ingest behind it would (`MOSQUITTO_FOR_AN_INGEST`, bench/lib/brokers.ts): no cap on the messages ' +
        'queued for a slow subscriber and a 1 GiB cap on their bytes (its default, 1000 messages, drops acknowledged QoS 1 messages once the ' +
        'ingest falls behind), 100 messages in flight to a client (its default 20). ' +
      `Latency: QoS 1 at a fixed ${load.latencyRate} msg/s in total, send time (wall clock) in the payload, percentiles over the middle of ${load.latencyMs / 1000} s. ` +
      'Each run starts fresh broker and client processes; the brokers alternate going first.',
    figures: [
      figure(`QoS 0 fan-in, ${load.publishers} publishers, delivered`, 'msg/s', true, (r) => r.qos0Rate, '≥ 1.0× mosquitto'),
      figure(`QoS 1 fan-in, ${load.publishers} publishers × ${QOS1_WINDOW} in flight, delivered`, 'msg/s', true, (r) => r.qos1Rate, '≥ 1.0× mosquitto'),
      figure('QoS 0 at saturation, lost', '%', false, (r) => r.qos0LossPct),
      figure('QoS 1 at saturation, acknowledged to the publisher and never delivered', '%', false, (r) => r.qos1LossPct),
      figure(`end-to-end latency p50, QoS 1 at ${load.latencyRate} msg/s`, 'ms', false, (r) => r.p50),
      figure(`end-to-end latency p99, QoS 1 at ${load.latencyRate} msg/s`, 'ms', false, (r) => r.p99),
    ],
    notes: [
      'CPU is each process\'s share of one core during the counted window (2 cores on the reference machine: broker, generator and subscriber compete for them). ' +
        'Both brokers are single-threaded event loops.',
      '',
      '**QoS 1 caveat.** The closed loop (a new message per PUBACK) costs the generator three to four times more CPU per message against ' +
        'mosquitto than against ours: mosquitto sends each PUBACK on its own, ours leaves a burst of them in one write (see the profile), so the ' +
        'generator wakes up once per PUBACK with mosquitto. On 2 cores shared by broker, generator and subscriber, that CPU is taken from ' +
        'mosquitto, whose QoS 1 runs show it below a full core. Read the QoS 1 ratio as "ours is not the bottleneck it was", not as ' +
        '"ours is faster than mosquitto"; QoS 0 (generator under 10 % of a core) is the cleaner broker-to-broker comparison.',
      '',
      PROFILE_NOTES,
      '',
      ...[...ours, ...peer].flatMap((r) => r.notes.map((n) => `- ${n}`)),
    ].join('\n'),
  };
}

export const brokerFanIn: Suite = { id: 'broker-fan-in', title: 'Broker fan-in: devices → one ingest subscriber', run };
