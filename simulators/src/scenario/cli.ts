/**
 * `npm run sim -- scenario <file> [--url U] (--credentials C | --provision API) [--speed N] [--seed S]
 *  [--start now|file|<iso>] [--out truth.json]`: runs a scenario file over MQTT and writes its ground truth.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CliArgError, loadCredentials } from '../cli-args.js';
import { stderrLogger } from '../progress.js';
import { compileScenario, type CompiledScenario } from './compile.js';
import { runScenario } from './runner.js';
import { loadScenario, parseOffset, type Scenario } from './schema.js';

export const SCENARIO_USAGE = `Usage: npm run sim -- scenario <file.yaml|json> [options]

  --url <url>            broker URL (default mqtt://127.0.0.1:1883)
  --credentials <file>   JSON { "<deviceId>": "<secret>" } for the scenario's devices, or:
  --provision <apiUrl>   provision them through the ingest API (token in TSUNAGARU_TOKEN), e.g. http://127.0.0.1:8080
  --speed <n|max>        simulated seconds per real second (default max: as fast as the broker acknowledges)
  --seed <n>             PRNG seed (default 1)
  --start <now|file|iso> t0: now (default: the run ends at the wall clock, t0 = now − duration),
                         the file's start, or an ISO date-time
  --out <file>           write the ground truth JSON here (default <name>.truth.json)
  --list-devices         print the scenario's devices (id, type, attributes) as JSON and exit`;

/**
 * The run's t0. `now` ends the run at the wall clock (t0 = now − duration): an accelerated run then never
 * stamps a sample in the future, which an ingest on the wall clock refuses (more than
 * DEVICE_CLOCK_MAX_SKEW_SEC ahead: a wrong device clock, firmware-contracts/README.md "Timestamps").
 */
export function scenarioStart(startArg: string, scenario: Pick<Scenario, 'start' | 'duration'>, now: number): number {
  const t0 = startArg === 'now' ? now - parseOffset(scenario.duration)! : startArg === 'file' ? Date.parse(scenario.start ?? '') : Date.parse(startArg);
  if (!Number.isFinite(t0)) throw new CliArgError(`--start: not "now", "file" (with a start in the file) or an ISO date-time: "${startArg}"`);
  return t0;
}

/** A warning when the run would stamp samples after `now`, or undefined. */
export function futureWarning(t0: number, scenario: Pick<Scenario, 'duration'>, now: number): string | undefined {
  const end = t0 + parseOffset(scenario.duration)!;
  if (end <= now) return undefined;
  return `warning: this run stamps samples up to ${new Date(end).toISOString()}, after the wall clock; an ingest on the wall clock dead-letters samples more than DEVICE_CLOCK_MAX_SKEW_SEC (default 300 s) ahead of it. Use --start now (the default) to end the run now.`;
}

async function provision(api: string, compiled: CompiledScenario): Promise<Record<string, string>> {
  const token = process.env['TSUNAGARU_TOKEN'];
  if (!token) throw new CliArgError('--provision: set TSUNAGARU_TOKEN to an admin API token');
  const secrets: Record<string, string> = {};
  for (const d of compiled.devices) {
    const res = await fetch(new URL('/api/v1/devices', api), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: d.id, type: d.type, attributes: d.attributes }),
    });
    const body = (await res.json().catch(() => ({}))) as { secret?: string; message?: string };
    if (res.status !== 201 || !body.secret) throw new CliArgError(`--provision: ${d.id}: HTTP ${res.status} ${body.message ?? ''} (already provisioned? use --credentials)`);
    secrets[d.id] = body.secret;
  }
  return secrets;
}

export async function runScenarioCli(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv], strict: true, allowPositionals: true,
      options: {
        url: { type: 'string' }, credentials: { type: 'string' }, provision: { type: 'string' }, speed: { type: 'string' }, seed: { type: 'string' },
        start: { type: 'string' }, out: { type: 'string' }, 'list-devices': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CliArgError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(`${SCENARIO_USAGE}\n`);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new CliArgError('scenario: pass exactly one scenario file');
  const scenario = await loadScenario(file);
  const now = Date.now();
  const t0 = scenarioStart(values.start ?? 'now', scenario, now);
  const compiled = compileScenario(scenario, t0);
  if (values['list-devices']) return void process.stdout.write(`${JSON.stringify(compiled.devices.map(({ id, type, attributes }) => ({ id, type, attributes })), null, 2)}\n`);
  const speed = values.speed === undefined || values.speed === 'max' ? Infinity : Number(values.speed);
  if (!(speed > 0)) throw new CliArgError(`--speed: must be a positive number or "max", got "${values.speed}"`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new CliArgError(`--seed: must be an integer, got "${values.seed}"`);
  const url = values.url ?? 'mqtt://127.0.0.1:1883';
  let secrets: Record<string, string>;
  if (values.provision) secrets = await provision(values.provision, compiled);
  else if (values.credentials) secrets = await loadCredentials(values.credentials);
  else throw new CliArgError('--credentials or --provision: required (see --list-devices for the devices to provision)');

  const warning = futureWarning(t0, scenario, now);
  if (warning) process.stderr.write(`${warning}\n`);
  const out = values.out ?? `${scenario.name}.truth.json`;
  const hours = (ts: number) => `t0+${((ts - t0) / 3_600_000).toFixed(2)}h`;
  process.stdout.write(`scenario ${scenario.name}: ${compiled.devices.length} devices, ${hours(compiled.endTs)} at ${Number.isFinite(speed) ? `${speed}×` : 'max speed'} (seed ${seed}) against ${url}\n`);
  const started = Date.now();
  const run = await runScenario({
    url, compiled, secrets, speed, seed, logger: stderrLogger('warn'),
    onProgress: (p) => process.stdout.write(`${hours(p.simTs)}  steps ${p.steps}  published ${p.published}  connected ${p.connected}/${p.devices}  errors ${p.errors}\n`),
  });
  await run.stop({ graceful: true });
  await writeFile(out, `${JSON.stringify(run.truth, null, 2)}\n`);
  const p = run.progress;
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${p.published} messages, ${p.errors} errors; ${run.truth.alerts.length} expected alerts, ` +
    `${run.truth.sitesDark.length} sites dark, isolated: ${run.truth.islandsIsolated.map((i) => i.island).join(', ') || 'none'}; ground truth in ${out}\n`);
  if (p.errors > 0) process.exitCode = 1;
}
