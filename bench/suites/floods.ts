/**
 * Floods: what a connected device sees while the broker is attacked. One device publishes at QoS 1
 * (one message in flight, fixed rate) and times each PUBACK, with no flood, under a login flood from
 * many addresses and under a flood of idle sockets. Ours against mosquitto, same floods, same processes.
 */
import { join } from 'node:path';
import { INGEST_USERNAME, makeFleet, REPO_ROOT, startBroker, type BenchDevice, type BrokerKind, type Fleet, type RunningBroker } from '../lib/brokers.js';
import { CpuMeter, formatCpu, rssKiB } from '../lib/proc.js';
import { median, percentile } from '../lib/stats.js';
import type { BenchContext, Suite, SuiteResult } from '../lib/types.js';
import { startWorker, type Worker } from '../lib/worker.js';

const PROBE_WORKER = join(REPO_ROOT, 'bench/lib/load/probe-worker.ts');
const FLOOD_WORKER = join(REPO_ROOT, 'bench/lib/load/flood-worker.ts');
const PROBE_ADDRESS = '127.0.0.2';
const PROBE_RATE = 50;
const PAYLOAD_BYTES = 200;
/** Devices the login flood names (all provisioned, production-cost hashes). */
const TARGETS = 50;

interface Load {
  measureMs: number;
  loginsPerSecond: number;
  loginAddresses: number;
  sockets: number;
  socketAddresses: number;
}

// 150 logins/s over 500 addresses is 18 a minute per address and at most that per (device, address): under
// every lockout, so each attempt reaches the password check. 5,000 sockets over 50 addresses is 100 each.
const loadFor = (quick: boolean): Load =>
  quick
    ? { measureMs: 5000, loginsPerSecond: 150, loginAddresses: 500, sockets: 1000, socketAddresses: 10 }
    : { measureMs: 15_000, loginsPerSecond: 150, loginAddresses: 500, sockets: 5000, socketAddresses: 50 };

interface PhaseResult {
  p50: number;
  p99: number;
  max: number;
  count: number;
  lost: number;
}

interface RunResult {
  baseline: PhaseResult;
  loginFlood: PhaseResult;
  socketFlood: PhaseResult;
  reloginMedian: number;
  note: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(probe: Worker, load: Load): Promise<PhaseResult> {
  const r = await probe.request<{ roundTrips: number[]; lost: number }>({ type: 'measure', durationMs: load.measureMs, ratePerSec: PROBE_RATE, payloadBytes: PAYLOAD_BYTES }, load.measureMs + 120_000);
  const rt = r.roundTrips;
  return { p50: percentile(rt, 50), p99: percentile(rt, 99), max: Math.max(...rt), count: rt.length, lost: r.lost };
}

const fmt = (p: PhaseResult) => `p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms, max ${p.max.toFixed(1)} ms (${p.count} messages${p.lost ? `, ${p.lost} unacknowledged` : ''})`;

async function runOnce(kind: BrokerKind, fleet: Fleet, load: Load, ctx: BenchContext, label: string): Promise<RunResult> {
  let broker: RunningBroker | undefined;
  let probe: Worker | undefined;
  let flood: Worker | undefined;
  try {
    broker = await startBroker(kind, fleet);
    probe = await startWorker(PROBE_WORKER, 'probe');
    flood = await startWorker(FLOOD_WORKER, 'flood');
    const target = { host: '127.0.0.1', port: broker.port };
    await probe.request({ type: 'connect', ...target, device: fleet.devices[0]!, from: PROBE_ADDRESS }, 60_000);
    await probe.request({ type: 'measure', durationMs: 2000, ratePerSec: PROBE_RATE, payloadBytes: PAYLOAD_BYTES }, 60_000); // warm-up
    const baseline = await measure(probe, load);
    ctx.progress(`${label}: no flood: ${fmt(baseline)}`);

    const usernames = fleet.devices.slice(1).map((d) => d.id);
    let meter = new CpuMeter({ broker: broker.pid, flood: flood.pid, probe: probe.pid });
    await flood.request({ type: 'logins', ...target, ratePerSec: load.loginsPerSecond, addresses: load.loginAddresses, usernames, maxInFlight: 1000 });
    await sleep(2000);
    const loginFlood = await measure(probe, load);
    const relogin = await probe.request<{ times: number[]; codes: Record<string, number> }>({ type: 'relogin', count: 10 }, 600_000);
    const logins = await flood.request<{ attempts: number; skipped: number; perSecond: number; codes: Record<string, number> }>({ type: 'stop' }, 60_000);
    const loginCpu = formatCpu(meter.read());
    ctx.progress(`${label}: login flood (${Math.round(logins.perSecond)}/s, ${JSON.stringify(logins.codes)}): ${fmt(loginFlood)}; re-login ${JSON.stringify(relogin.codes)} median ${median(relogin.times).toFixed(1)} ms; CPU ${loginCpu}`);
    await sleep(3000);

    meter = new CpuMeter({ broker: broker.pid, flood: flood.pid, probe: probe.pid });
    await flood.request({ type: 'sockets', ...target, count: load.sockets, addresses: load.socketAddresses, reopenDelayMs: 1000 }, 120_000);
    await sleep(2000);
    const socketFlood = await measure(probe, load);
    const { held } = await flood.request<{ held: number }>({ type: 'held' });
    const rssMiB = Math.round(rssKiB(broker.pid) / 1024);
    const sockets = await flood.request<{ opened: number; closedByBroker: number }>({ type: 'stop' }, 60_000);
    const socketCpu = formatCpu(meter.read());
    ctx.progress(`${label}: socket flood (${held} of ${load.sockets} held, ${sockets.opened} opened, ${sockets.closedByBroker} closed by the broker): ${fmt(socketFlood)}; CPU ${socketCpu}`);

    return {
      baseline,
      loginFlood,
      socketFlood,
      reloginMedian: relogin.times.length === 10 ? median(relogin.times) : NaN,
      note:
        `${label}: no flood ${fmt(baseline)}. Login flood: ${logins.attempts} attempts (${Math.round(logins.perSecond)}/s, ${logins.skipped} not sent: 1000 in flight), ` +
        `answers ${JSON.stringify(logins.codes)}; device ${fmt(loginFlood)}; re-login ${JSON.stringify(relogin.codes)}, times ${relogin.times.map((t) => t.toFixed(1)).join(', ')} ms; CPU ${loginCpu}. ` +
        `Socket flood: ${held} of ${load.sockets} idle sockets open at the end, ${sockets.opened} opened in all, ${sockets.closedByBroker} closed by the broker, broker RSS ${rssMiB} MiB; ` +
        `device ${fmt(socketFlood)}; CPU ${socketCpu}.`,
    };
  } finally {
    await flood?.stop();
    await probe?.stop();
    await broker?.stop();
  }
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const load = loadFor(ctx.quick);
  const secret = 'bench-floods-secret-0123456789';
  const devices: BenchDevice[] = makeFleet('flood', 1 + TARGETS, 16384, secret);
  const fleet: Fleet = { devices, ingest: { username: INGEST_USERNAME, password: 'bench-ingest-secret-0123456789' } };
  const ours: RunResult[] = [];
  const peer: RunResult[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    const order: BrokerKind[] = i % 2 === 0 ? ['ours', 'mosquitto'] : ['mosquitto', 'ours'];
    for (const kind of order) (kind === 'ours' ? ours : peer).push(await runOnce(kind, fleet, load, ctx, `run ${i + 1}/${ctx.runs}: ${kind}`));
  }
  const figure = (name: string, pick: (r: RunResult) => number) => ({
    name,
    unit: 'ms',
    higherIsBetter: false,
    ours: { runs: ours.map(pick) },
    peer: { label: 'mosquitto 2.0', runs: peer.map(pick) },
  });
  return {
    id: 'floods',
    title: 'Floods: a connected device under login and socket floods',
    command: 'BENCH_SUITES=floods npm run bench',
    method:
      `One device (its own process, raw socket, from ${PROBE_ADDRESS}) publishes ${PAYLOAD_BYTES}-byte QoS 1 messages, one in flight, ${PROBE_RATE} a second, ` +
      `and times each PUBACK for ${load.measureMs / 1000} s in three phases: no flood; a **login flood** of ${load.loginsPerSecond} wrong-secret CONNECTs a second, ` +
      `each from the next of ${load.loginAddresses} loopback addresses (127.2.x.y) and naming one of ${TARGETS} provisioned devices, so that no address and no ` +
      '(device, address) pair reaches a lockout and every attempt reaches the password check (ours: scrypt N=16384 with the default settings, ' +
      'one verification at a time on this 2-core machine, 64 waiting, the rest refused with CONNACK 3; mosquitto: PBKDF2-SHA512 ×101); then a **socket flood** of ' +
      `${load.sockets.toLocaleString('en-US')} TCP connections that never send CONNECT, from ${load.socketAddresses} addresses (127.3.x.y), each reopened 1 s after the broker closes it ` +
      '(ours closes a socket with no CONNECT after 10 s and holds at most 64 waiting per address; mosquitto 2.0 has neither limit). ' +
      'During the login flood the device also logs a second session in 10 times (its secret was verified at its first login: our fast path). ' +
      'Brokers: `npm run broker` with its defaults (publish rate limits off, as in every suite) and Debian mosquitto with the equivalent accounts; flood and ' +
      'device in separate processes. p99 of the round trips in each phase; lower is better; the ratio is mosquitto ÷ ours.',
    figures: [
      figure('device PUBACK p99 at QoS 1, no flood', (r) => r.baseline.p99),
      figure(`device PUBACK p99 at QoS 1, login flood ${load.loginsPerSecond}/s from ${load.loginAddresses} addresses`, (r) => r.loginFlood.p99),
      figure(`device PUBACK p99 at QoS 1, ${load.sockets.toLocaleString('en-US')} idle sockets`, (r) => r.socketFlood.p99),
      figure('re-login of a recently connected device during the login flood, median', (r) => r.reloginMedian),
    ],
    notes: [
      'Socket flood: mosquitto keeps every idle socket, with no time limit, until its file descriptors run out; ours closes each after 10 s and refuses ' +
        'those beyond 64 waiting per address, so most of its work in that phase is the attacker opening them again (the "opened" count below).',
      '',
      ...[...ours, ...peer].map((r) => `- ${r.note}`),
    ].join('\n'),
  };
}

export const floods: Suite = { id: 'floods', title: 'Floods: a connected device under login and socket floods', run };
