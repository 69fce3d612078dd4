/**
 * `npm run sim -- --url mqtt://127.0.0.1:1883 --credentials creds.json [--speed 60] [--seed 1]`
 * Runs the default simulated fleet against a broker until Ctrl-C.
 * `npm run sim -- modbus --device bs-power:5020` serves simulated controllers over Modbus TCP instead.
 * `npm run sim -- --meters 130000 --credentials gateways.json` drives meters behind LPWA head-end gateways.
 * `npm run sim -- scenario <file> [--speed N] [--seed S] [--out truth.json]` runs a disaster scenario.
 * `npm run sim -- chirpstack …` / `npm run sim -- sparkplug …`: LoRaWAN meters through ChirpStack, Sparkplug edge nodes (integrations-cli.ts).
 */
import { FileIdentityStore } from '@tsunagaru/edge-agent';
import { CliArgError, loadCredentials, parseSimArgs, USAGE } from './cli-args.js';
import { cityFleet } from './city-fleet.js';
import { defaultFleet } from './fleet-spec.js';
import { defaultStartTs, startFleet, type FleetStats } from './fleet.js';
import { runModbusCli } from './modbus/cli.js';
import { runScenarioCli } from './scenario/cli.js';
import { HEADEND_USAGE, runHeadEndCli } from './headend-cli.js';
import { runChirpStackCli, runSparkplugCli } from './integrations-cli.js';
import { formatProgress, stderrLogger } from './progress.js';

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'modbus') return runModbusCli(argv.slice(1));
  if (argv[0] === 'scenario') return runScenarioCli(argv.slice(1));
  if (argv[0] === 'chirpstack') return runChirpStackCli(argv.slice(1));
  if (argv[0] === 'sparkplug') return runSparkplugCli(argv.slice(1));
  if (argv.includes('--meters')) return runHeadEndCli(argv);
  const args = parseSimArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const secrets = await loadCredentials(args.credentials);
  // Accelerated, the fleet starts in the past (it never stamps the future); the city's models start with it.
  const startTs = defaultStartTs(args.speed, Date.now());
  const devices = args.fleet === 'city' ? cityFleet({ startTs, metersPerDma: args.metersPerDma, seed: args.seed }) : defaultFleet();
  const missing = devices.filter((d) => !(d.id in secrets)).map((d) => d.id);
  if (missing.length > 0) throw new CliArgError(`--credentials: ${args.credentials} has no secret for ${missing.join(', ')}; provision them first`);

  const logger = stderrLogger(args.verbose ? 'info' : 'warn');
  const stateDir = args.stateDir;
  const fleet = await startFleet({
    url: args.url,
    devices,
    secrets,
    speed: args.speed,
    startTs,
    seed: args.seed,
    logger,
    ...(stateDir ? { identity: (spec) => new FileIdentityStore({ dir: stateDir, deviceId: spec.id, logger }) } : {}),
  });
  for (const f of fleet.failures()) process.stderr.write(`${f.deviceId}: ${f.error.message}\n`);
  process.stdout.write(`simulating ${devices.length} devices against ${args.url} at ${args.speed}× (seed ${args.seed}); Ctrl-C stops\n`);

  let previous: FleetStats = fleet.stats();
  let previousAt = Date.now();
  const progress = setInterval(() => {
    const now = fleet.stats();
    process.stdout.write(`${formatProgress(now, previous, (Date.now() - previousAt) / 1000)}\n`);
    previous = now;
    previousAt = Date.now();
  }, args.progressSec * 1000);

  let stopping = false;
  const onSignal = (): void => {
    if (stopping) {
      process.stderr.write('second signal: exiting without waiting\n');
      process.exit(130);
    }
    stopping = true;
    clearInterval(progress);
    process.stdout.write('\nstopping: each device publishes its death and disconnects…\n');
    void fleet.stop({ graceful: true }).then(() => {
      process.stdout.write(`${formatProgress(fleet.stats(), undefined, 0)}\nstopped\n`);
      process.exit(0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const argv = process.argv.slice(2);
main(argv).catch((err: unknown) => {
  process.stderr.write(`sim: ${(err as Error).message}\n`);
  if (err instanceof CliArgError) process.stderr.write(`\n${argv.includes('--meters') ? HEADEND_USAGE : USAGE}\n`);
  process.exit(err instanceof CliArgError ? 2 : 1);
});
