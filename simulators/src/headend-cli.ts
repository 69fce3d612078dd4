/**
 * `npm run sim -- --meters 130000 [--gateways 65] --credentials gateways.json [--url U] [--cycles 1]
 *  [--speed N] [--seed S] [--progress sec]`: meters behind LPWA head-end gateways (headend.ts).
 * The meters and gateways must be provisioned as headEndLayout() names them (scripts/bench-meters.ts does).
 */
import { parseArgs } from 'node:util';
import { CliArgError, loadCredentials } from './cli-args.js';
import { headEndLayout, runHeadEnds, type HeadEndStats } from './headend.js';

export const HEADEND_USAGE = `Usage: npm run sim -- --meters <n> --credentials <file.json> [options]

  --meters <n>           water meters behind LPWA head-end gateways (required)
  --gateways <n>         head-end gateways, one MQTT connection each (default one per 2,000 meters)
  --credentials <file>   JSON { "<gateway id>": "<secret>" } for the gateways (required); the meters and
                         gateways provisioned as headEndLayout() names them (scripts/bench-meters.ts does)
  --url <url>            broker URL (default mqtt://127.0.0.1:1883)
  --cycles <n>           reading cycles, every meter once per cycle (default 1)
  --speed <n>            time acceleration (default: as fast as the broker acknowledges)
  --seed <n>             PRNG seed (default 1)
  --window <n>           QoS 1 messages in flight per gateway (default 256)
  --progress <sec>       seconds between progress lines (default 5)
  --help                 show this help`;

function positive(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new CliArgError(`${flag}: must be a positive number, got "${raw}"`);
  return n;
}

export async function runHeadEndCli(argv: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv], strict: true,
      options: { meters: { type: 'string' }, gateways: { type: 'string' }, credentials: { type: 'string' }, url: { type: 'string' }, cycles: { type: 'string' }, speed: { type: 'string' }, seed: { type: 'string' }, progress: { type: 'string' }, window: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    throw new CliArgError((err as Error).message);
  }
  if (values.help) return void process.stdout.write(`${HEADEND_USAGE}\n`);
  if (!values.meters) throw new CliArgError('--meters: required; how many water meters to drive');
  const meters = Math.floor(positive('--meters', values.meters, 0));
  const gateways = Math.floor(positive('--gateways', values.gateways, Math.ceil(meters / 2000)));
  if (!values.credentials) throw new CliArgError('--credentials: required; JSON { "<gateway id>": "<secret>" } for the head-end gateways');
  const secrets = await loadCredentials(values.credentials);
  const url = values.url ?? 'mqtt://127.0.0.1:1883';
  const layout = headEndLayout(meters, gateways);
  const progressMs = positive('--progress', values.progress, 5) * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  process.stdout.write(`driving ${meters} meters behind ${layout.length} head-end gateways against ${url}\n`);
  const run = await runHeadEnds({
    url, layout, secrets, cycles: Math.floor(positive('--cycles', values.cycles, 1)), speed: values.speed ? positive('--speed', values.speed, 1) : Infinity,
    seed: Math.floor(positive('--seed', values.seed, 1)), window: Math.floor(positive('--window', values.window, 256)),
  });
  let prev = run.stats();
  let prevAt = Date.now();
  const line = (s: HeadEndStats, rate: number) =>
    `${((Date.now() - t0) / 1000).toFixed(0)} s  published ${s.published}/${s.meters * (s.cycles || 1)}  rate ${Math.round(rate)}/s  connected ${s.connected}/${s.gateways}  errors ${s.errors}`;
  const timer = setInterval(() => {
    const now = run.stats();
    process.stdout.write(`${line(now, ((now.published - prev.published) * 1000) / Math.max(1, Date.now() - prevAt))}\n`);
    prev = now;
    prevAt = Date.now();
  }, progressMs);
  const onSignal = () => void run.stop().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const final = await run.done;
  clearInterval(timer);
  await run.stop();
  const sec = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${line(final, final.published / sec)}\n`);
  process.stdout.write(`done: ${final.published} readings in ${sec.toFixed(1)} s (${Math.round(final.published / sec)}/s), simulator CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, peak RSS ${peakMb} MB, errors ${final.errors}\n`);
  if (final.errors > 0) process.exitCode = 1;
}
