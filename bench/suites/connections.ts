/**
 * Connections: how many authenticated device sessions a broker holds, what each costs in memory,
 * and how fast devices can log in. Ours against mosquitto, same fleet, same client process.
 */
import { join } from 'node:path';
import { INGEST_USERNAME, makeFleet, REPO_ROOT, startBroker, type BenchDevice, type BrokerKind, type Fleet, type RunningBroker } from '../lib/brokers.js';
import { CpuMeter, formatCpu, loadBoundWarning, rssKiB } from '../lib/proc.js';
import type { BenchContext, Suite, SuiteResult } from '../lib/types.js';
import { startWorker, type Worker } from '../lib/worker.js';

const DEVICE_WORKER = join(REPO_ROOT, 'bench/lib/load/device-worker.ts');
/** Loopback source addresses the fleet connects from (127.1.0.1 …): see the method text. */
const SOURCE_ADDRESSES = 64;
const CONCURRENCY = 64;

interface Load {
  /** Devices whose stored hash has the production scrypt cost: the login rate sample. */
  productionSample: number;
  /** The rest of the fleet, stored with a cheaper scrypt (N=1024) so 10,000 logins fit the time budget. */
  fleet: number;
  holdMs: number;
}

const loadFor = (quick: boolean): Load => (quick ? { productionSample: 50, fleet: 950, holdMs: 2000 } : { productionSample: 200, fleet: 9800, holdMs: 3000 });

interface RunResult {
  held: number;
  kibPerConnection: number;
  productionRate: number;
  fleetRate: number;
  note: string;
}

interface ConnectDone {
  connected: number;
  failed: number;
  codes: Record<string, number>;
  firstError?: string;
  elapsedMs: number;
  cpu: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectAll(devices: Worker, broker: RunningBroker, list: BenchDevice[], label: string): Promise<{ rate: number; cpu: string }> {
  const meter = new CpuMeter({ broker: broker.pid, client: devices.pid });
  const r = await devices.request<ConnectDone>(
    { type: 'connect', host: '127.0.0.1', port: broker.port, devices: list, concurrency: CONCURRENCY, sourceAddresses: SOURCE_ADDRESSES },
    600_000,
  );
  const usage = meter.read();
  const warning = loadBoundWarning(usage);
  const cpu = `${formatCpu(usage)}${warning ? `; ${warning}` : ''}`;
  if (r.failed > 0) throw new Error(`${label}: ${r.failed} of ${list.length} logins failed (${JSON.stringify(r.codes)}; first: ${r.firstError})`);
  return { rate: r.connected / (r.elapsedMs / 1000), cpu };
}

async function runOnce(kind: BrokerKind, fleet: Fleet, load: Load, ctx: BenchContext, label: string): Promise<RunResult> {
  const total = load.productionSample + load.fleet;
  let broker: RunningBroker | undefined;
  let devices: Worker | undefined;
  try {
    broker = await startBroker(kind, fleet, { env: { MQTT_MAX_CONNECTIONS: String(total + 100) } });
    devices = await startWorker(DEVICE_WORKER, 'clients');
    const sample = fleet.devices.slice(0, load.productionSample);
    const rest = fleet.devices.slice(load.productionSample);
    ctx.progress(`${label}: ${sample.length} logins with production password hashes`);
    const production = await connectAll(devices, broker, sample, label);
    ctx.progress(`${label}: ${Math.round(production.rate)} logins/s (CPU ${production.cpu}); ${rest.length} more`);
    // The baseline is taken after the production-cost logins: each scrypt N=16384 verification fills
    // 16 MiB on a thread-pool thread, and the allocator keeps that memory, which is not per-connection cost.
    await sleep(500);
    const baseKiB = rssKiB(broker.pid);
    const bulk = await connectAll(devices, broker, rest, label);
    ctx.progress(`${label}: ${Math.round(bulk.rate)} logins/s (CPU ${bulk.cpu}); holding ${load.holdMs / 1000} s`);
    await sleep(load.holdMs);
    const held = (await devices.request<{ open: number }>({ type: 'open' })).open;
    const kib = rssKiB(broker.pid);
    const perConnection = (kib - baseKiB) / rest.length;
    ctx.progress(`${label}: ${held} held; RSS ${Math.round(baseKiB / 1024)} → ${Math.round(kib / 1024)} MiB for ${rest.length} more = ${perConnection.toFixed(1)} KiB per connection`);
    return {
      held,
      kibPerConnection: perConnection,
      productionRate: production.rate,
      fleetRate: bulk.rate,
      note: `${label}: RSS ${Math.round(baseKiB / 1024)} MiB with ${sample.length} sessions → ${Math.round(kib / 1024)} MiB with ${held}; production-hash logins CPU ${production.cpu}; fleet logins CPU ${bulk.cpu}`,
    };
  } finally {
    await devices?.stop();
    await broker?.stop();
  }
}

async function run(ctx: BenchContext): Promise<SuiteResult> {
  const load = loadFor(ctx.quick);
  const total = load.productionSample + load.fleet;
  const fleet: Fleet = {
    devices: [
      ...makeFleet('conn-prod', load.productionSample, 16384, 'bench-connections-secret-01234'),
      ...makeFleet('conn-fleet', load.fleet, 1024, 'bench-connections-secret-01234'),
    ],
    ingest: { username: INGEST_USERNAME, password: 'bench-ingest-secret-0123456789' },
  };
  const ours: RunResult[] = [];
  const peer: RunResult[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    const order: BrokerKind[] = i % 2 === 0 ? ['ours', 'mosquitto'] : ['mosquitto', 'ours'];
    for (const kind of order) (kind === 'ours' ? ours : peer).push(await runOnce(kind, fleet, load, ctx, `run ${i + 1}/${ctx.runs}: ${kind}`));
  }
  const peerOf = (pick: (r: RunResult) => number) => ({ label: 'mosquitto 2.0', runs: peer.map(pick) });
  return {
    id: 'connections',
    title: 'Connections: sessions held, memory, login rate',
    command: 'BENCH_SUITES=connections npm run bench',
    method:
      `${total.toLocaleString('en-US')} devices log in (MQTT 3.1.1, clean session, no keep-alive) from one client process on raw sockets, ` +
      `${CONCURRENCY} logins in flight, spread over ${SOURCE_ADDRESSES} loopback source addresses (127.1.0.x), and stay connected ${load.holdMs / 1000} s. ` +
      'Memory per connection = (broker RSS with all sessions − RSS after the production-hash sample) / the fleet logins in between, from `/proc/<pid>/status` ' +
      '(the baseline comes after the sample because each scrypt N=16384 verification fills 16 MiB that the allocator keeps; that is login cost, not per-session memory). ' +
      `Login rate is measured twice: for the first ${load.productionSample} devices, whose stored hashes have production cost ` +
      '(ours: scrypt N=16384, r=8, p=1, ~16 MiB and tens of ms of CPU per login; mosquitto: PBKDF2-SHA512 with 101 iterations, its default, well under 1 ms), ' +
      `and for the other ${load.fleet.toLocaleString('en-US')}, whose hashes in our registry are scrypt N=1024 (each hash carries its own cost, ` +
      'so the broker honours it) only so that ten thousand logins fit in the time budget; mosquitto verifies the same PBKDF2 for both groups. ' +
      `Our broker runs with \`MQTT_MAX_CONNECTIONS=${total + 100}\` (default 10,000) and its login throttles **on**: they allow 16 logins being ` +
      'verified per source address, which the spread over addresses respects (a real fleet does not come from one address); ' +
      'no login fails, so the failure lockouts never engage. Both brokers and the client process have `ulimit -n` 20000.',
    figures: [
      {
        name: 'authenticated sessions held',
        unit: 'sessions',
        higherIsBetter: true,
        ours: { runs: ours.map((r) => r.held) },
        peer: peerOf((r) => r.held),
        goal: `${total.toLocaleString('en-US')} (all)`,
        goalCheck: (o) => o >= total,
      },
      { name: 'broker memory per connection (RSS delta)', unit: 'KiB', higherIsBetter: false, ours: { runs: ours.map((r) => r.kibPerConnection) }, peer: peerOf((r) => r.kibPerConnection) },
      {
        name: 'login rate, production hashes (scrypt N=16384 vs PBKDF2 ×101)',
        unit: 'logins/s',
        higherIsBetter: true,
        ours: { runs: ours.map((r) => r.productionRate) },
        peer: peerOf((r) => r.productionRate),
      },
      {
        name: 'login rate, bench fleet (ours scrypt N=1024 vs PBKDF2 ×101)',
        unit: 'logins/s',
        higherIsBetter: true,
        ours: { runs: ours.map((r) => r.fleetRate) },
        peer: peerOf((r) => r.fleetRate),
      },
    ],
    notes: [
      'The production login rate is slower than mosquitto\'s by design: scrypt is memory-hard (each verification fills ~16 MiB), so a stolen ' +
        'registry file is expensive to brute-force even on GPUs, while PBKDF2-SHA512 at 101 iterations costs an attacker almost nothing. The price is ' +
        'paid once per login, on libuv\'s thread pool, at most `MQTT_AUTH_CONCURRENCY` at once (default: cores − 1, at most 2; 1 on 2 cores, ' +
        'so that a login flood leaves a core to the connected devices), not per message. A device whose secret was verified in the last 24 h ' +
        'logs in again without scrypt, so a fleet reconnecting after a network outage does not pay it again; after a broker restart it does, ' +
        'at the production rate: the case to plan for (the login throttles cap what one address can make the broker spend).',
      '',
      'Memory: a session in our broker is a Node socket, the packet-size guard stream in front of it, and an aedes client (MQTT parser ' +
        'with its buffer list, per-client closures, keep-alive timer, subscription state) on the V8 heap, which also grows with GC headroom; ' +
        'mosquitto keeps a C struct and its buffers. Sessions that are idle cost no CPU in either.',
      '',
      'mosquitto\'s login rates may be bounded by the client process (one Node process doing the TLS-less CONNECT/CONNACK work for the whole fleet): ' +
        'the per-run lines flag a client that used most of a core; then mosquitto\'s true rate is higher and our ratio smaller.',
      '',
      ...[...ours, ...peer].map((r) => `- ${r.note}`),
    ].join('\n'),
  };
}

export const connections: Suite = { id: 'connections', title: 'Connections: sessions held, memory, login rate', run };
