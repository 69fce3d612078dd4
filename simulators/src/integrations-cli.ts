/**
 * `npm run sim -- chirpstack --url U --application-id ID [--username U --password P] [--meters 3]
 *  [--frames 96] [--loss 0.05] [--rejoin-every 0] [--late-from A --late-to B] [--status-every 24] [--seed S]`:
 * LoRaWAN meters as ChirpStack v4 publishes them (lorawan/chirpstack-fleet.ts). Meters are named
 * wm-lora-0001… with DevEUIs 70b3d5…0001…: provision them with attribute devEui.
 * `npm run sim -- sparkplug --url U --group G [--username U --password P] [--pump-stations 1] [--dc-plants 1]
 *  [--rounds 60] [--drop-every 0] [--primary-host tsunagaru] [--seed S]`: Sparkplug B edge nodes
 * (sparkplug/edge-fleet.ts) named PS01…, DC01….
 * Both print the ground truth (frames lost per meter and session, messages dropped per edge node and boot)
 * as JSON, to hold the ledger against.
 */
import { parseArgs } from 'node:util';
import { CliArgError } from './cli-args.js';
import { runChirpStackFleet } from './lorawan/chirpstack-fleet.js';
import { dcPlant, pumpStation, type SimulatedSite } from './sparkplug/edge-fleet.js';

export const CHIRPSTACK_USAGE = `Usage: npm run sim -- chirpstack --application-id <id> [options]

  LoRaWAN water meters as ChirpStack v4's MQTT integration publishes their events (join, up, status, and
  txack/ack for downlinks); meters wm-lora-0001… with DevEUIs 70b3d5…0001… (provision them with attribute
  devEui). Prints the ground truth (frames lost per meter and session) as JSON.

  --url <url>              broker ChirpStack publishes to (default mqtt://127.0.0.1:1883)
  --username <name>        its login (an integration principal on our broker), with --password
  --password <secret>      the login's secret
  --application-id <id>    ChirpStack's application id (required)
  --meters <n>             meters (default 3)
  --frames <n>             frames each meter sends, lost ones included (default 96)
  --sample-sec <s>         seconds between frames (default 900)
  --loss <rate>            share of frames lost on the air, 0..1 (default 0.05)
  --rejoin-every <n>       rejoin after this many frames (default 0: never)
  --late-from <n>          frames [late-from, late-to) of each session arrive after all the others
  --late-to <n>            (default late-from + 3)
  --status-every <n>       a status event every this many frames (default 24; 0: never)
  --seed <n>               PRNG seed (default 1)
  --help                   show this help`;

export const SPARKPLUG_USAGE = `Usage: npm run sim -- sparkplug --group <id> [options]

  Sparkplug B 3.0 edge nodes (pump stations PS01…, DC plants DC01…): births, data rounds, rebirth on the
  host's request. Prints the ground truth (messages dropped per edge node and boot) as JSON.

  --url <url>              broker (default mqtt://127.0.0.1:1883)
  --username <name>        its login (an integration principal on our broker), with --password
  --password <secret>      the login's secret
  --group <id>             the Sparkplug group id (required)
  --pump-stations <n>      pump-station edge nodes (default 1)
  --dc-plants <n>          DC-plant edge nodes (default 1)
  --rounds <n>             data rounds (default 60)
  --sample-sec <s>         simulated seconds between rounds (default 60)
  --drop-every <n>         lose every n-th data message on the way (default 0: none)
  --primary-host <id>      wait for this primary host's STATE before publishing
  --seed <n>               PRNG seed (default 1)
  --help                   show this help`;

function number(flag: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new CliArgError(`${flag}: must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

/** The string options `names` and --help, parsed strictly: `help` and the options' values. */
function args(argv: readonly string[], names: readonly string[]): { help: boolean; v: Record<string, string | undefined> } {
  const options = Object.fromEntries(names.map((k) => [k, { type: 'string' as const }]));
  let values;
  try {
    values = parseArgs({ args: [...argv], strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    throw new CliArgError((err as Error).message);
  }
  const { help, ...rest } = values;
  return { help: help === true, v: rest as Record<string, string | undefined> };
}

export const loraMeterIds = (n: number) => Array.from({ length: n }, (_, i) => ({ deviceName: `wm-lora-${String(i + 1).padStart(4, '0')}`, devEui: `70b3d5${String(i + 1).padStart(10, '0')}` }));

export async function runChirpStackCli(argv: readonly string[]): Promise<void> {
  const { help, v } = args(argv, ['url', 'username', 'password', 'application-id', 'meters', 'frames', 'loss', 'rejoin-every', 'late-from', 'late-to', 'status-every', 'seed', 'sample-sec']);
  if (help) return void process.stdout.write(`${CHIRPSTACK_USAGE}\n`);
  if (!v['application-id']) throw new CliArgError('--application-id: required (ChirpStack\'s application id)');
  const lateFrom = v['late-from'] === undefined ? undefined : number('--late-from', v['late-from'], 0);
  const run = await runChirpStackFleet({
    url: v.url ?? 'mqtt://127.0.0.1:1883',
    ...(v.username ? { username: v.username, password: v.password ?? '' } : {}),
    applicationId: v['application-id'],
    meters: loraMeterIds(Math.floor(number('--meters', v.meters, 3, 1))),
    frames: Math.floor(number('--frames', v.frames, 96, 1)),
    sampleSec: Math.floor(number('--sample-sec', v['sample-sec'], 900, 1)),
    lossRate: number('--loss', v.loss, 0.05),
    rejoinEvery: Math.floor(number('--rejoin-every', v['rejoin-every'], 0)),
    ...(lateFrom !== undefined ? { lateBatch: { from: lateFrom, to: Math.floor(number('--late-to', v['late-to'], lateFrom + 3)) } } : {}),
    statusEvery: Math.floor(number('--status-every', v['status-every'], 24)),
    seed: Math.floor(number('--seed', v.seed, 1)),
  });
  await run.close();
  process.stdout.write(`${JSON.stringify(run.truth.map((t) => ({ devEui: t.devEui, published: t.published, sessions: t.sessions.map((s) => ({ boot: s.session, sent: s.sent, lost: s.lost, expectedMissing: s.expectedMissing, late: s.late })) })), null, 2)}\n`);
}

export async function runSparkplugCli(argv: readonly string[]): Promise<void> {
  const { help, v } = args(argv, ['url', 'username', 'password', 'group', 'pump-stations', 'dc-plants', 'rounds', 'drop-every', 'primary-host', 'seed', 'sample-sec']);
  if (help) return void process.stdout.write(`${SPARKPLUG_USAGE}\n`);
  if (!v.group) throw new CliArgError('--group: required (the Sparkplug group id)');
  const sampleSec = Math.floor(number('--sample-sec', v['sample-sec'], 60, 1));
  const rounds = Math.floor(number('--rounds', v.rounds, 60, 1));
  const seed = Math.floor(number('--seed', v.seed, 1));
  const dropEvery = Math.floor(number('--drop-every', v['drop-every'], 0));
  const conn = { url: v.url ?? 'mqtt://127.0.0.1:1883', groupId: v.group, ...(v.username ? { username: v.username, password: v.password ?? '' } : {}), ...(v['primary-host'] ? { primaryHostId: v['primary-host'] } : {}) };
  const sites: SimulatedSite[] = [
    ...Array.from({ length: Math.floor(number('--pump-stations', v['pump-stations'], 1)) }, (_, i) => pumpStation({ ...conn, edgeNodeId: `PS${String(i + 1).padStart(2, '0')}`, seed, sampleSec })),
    ...Array.from({ length: Math.floor(number('--dc-plants', v['dc-plants'], 1)) }, (_, i) => dcPlant({ ...conn, edgeNodeId: `DC${String(i + 1).padStart(2, '0')}`, seed, sampleSec })),
  ];
  let n = 0;
  if (dropEvery > 0) for (const s of sites) s.node.drop = () => ++n % dropEvery === 0;
  const t0 = Date.now() - rounds * sampleSec * 1000;
  for (const s of sites) await s.start(t0);
  for (let r = 1; r <= rounds; r++) {
    for (const s of sites) await s.step(t0 + r * sampleSec * 1000);
    await new Promise((res) => setTimeout(res, 20));
  }
  const truth = sites.map((s) => ({ edgeNode: s.node.id, births: s.node.settle(), rebirthRequests: s.node.rebirthRequests }));
  for (const s of sites) await s.node.stop(Date.now());
  process.stdout.write(`${JSON.stringify(truth, null, 2)}\n`);
}
