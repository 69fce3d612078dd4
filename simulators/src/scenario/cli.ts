/**
 * `npm run sim -- scenario <file> [--url U] (--credentials C | --provision API) [--speed N] [--seed S]
 *  [--start now|file|<iso>] [--out truth.json]`: runs a scenario file over MQTT and writes its ground truth.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseArgs } from 'node:util';
import { CliArgError, loadCredentials } from '../cli-args.js';
import { stderrLogger } from '../progress.js';
import { compileScenario, type CompiledScenario } from './compile.js';
import { runScenario } from './runner.js';
import { loadScenario, parseOffset, type Scenario } from './schema.js';
import { runWaterScenarioCli } from '../water-scenario/cli.js';
import { isWaterScenario } from '../water-scenario/schema.js';
import { isIntegrationsScenario, loadIntegrationsScenario } from '../integrations-scenario/schema.js';
import { formatIntegrationsScorecard, runIntegrationsScoredScenario } from '../integrations-scenario/scored-run.js';
import { formatScorecard, missedTargets, type Scorecard } from './score.js';
import { scoreRunningStack } from './score-remote.js';
import { DEFAULT_SCENARIO_T0, runScoredScenario } from './scored-run.js';

export const SCENARIO_USAGE = `Usage: npm run sim -- scenario <file.yaml|json> [options]

  --url <url>            broker URL (default mqtt://127.0.0.1:1883)
  --credentials <file>   JSON { "<deviceId>": "<secret>" } for the scenario's devices, or:
  --provision <apiUrl>   provision them through the ingest API (token in TSUNAGARU_TOKEN), e.g. http://127.0.0.1:8080
  --speed <n|max>        simulated seconds per real second (default max: as fast as the broker acknowledges)
  --seed <n>             PRNG seed (default 1)
  --start <now|file|iso> t0: now (default: the run ends at the wall clock, t0 = now − duration),
                         the file's start, or an ISO date-time
  --out <file>           write the ground truth JSON here (default <name>.truth.json)
  --list-devices         print the scenario's devices (id, type, attributes) as JSON and exit
  --score                print the scorecard against the ground truth; exits 1 when a target is missed.
                         Without --url: against our broker and ingest started in this process on the
                         scenario's simulated clock (36 h in a minute or two; --start defaults to the
                         file's start). With --url: against a running stack (its broker at --url, its
                         API at --api or --provision, token in TSUNAGARU_TOKEN; run it with SIMULATORS=off):
                         what depends on that stack's clock is scored only at --speed 1 --start now
  --api <url>            with --score --url: the running stack's API, e.g. http://127.0.0.1:8080
  --rules <file>         with --score: alert rules (YAML or JSON) on top of the defaults
  --scorecard <file>     with --score: also write the scorecard as JSON
  --help                 show this help`;

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
        score: { type: 'boolean' }, rules: { type: 'string' }, scorecard: { type: 'string' }, api: { type: 'string' },
      },
    });
  } catch (err) {
    throw new CliArgError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(`${SCENARIO_USAGE}\n`);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new CliArgError('scenario: pass exactly one scenario file');
  // A water scenario (`kind: water`) has its own schema, truth and scorecard (water-scenario/).
  const document = await readFile(file, 'utf8').then((t) => parseYaml(t) as unknown, () => undefined);
  if (isWaterScenario(document)) return runWaterScenarioCli(file, values);
  // ChirpStack meters and Sparkplug edge nodes (`kind: integrations`): scored on our own broker and ingest.
  if (isIntegrationsScenario(document)) return runIntegrationsScenarioCli(file, values);
  const scenario = await loadScenario(file);
  if (values.score && values.url === undefined) return runScore(scenario, values);
  if (values.rules) throw new CliArgError('--rules: only with --score without --url (a running stack has its own rules)');
  if ((values.scorecard || values.api) && !values.score) throw new CliArgError('--scorecard and --api: only with --score');
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
  if (values.score) return runRemoteScore({ compiled, secrets, url, speed, seed, out, api: values.api ?? values.provision, scorecard: values.scorecard });
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

async function runRemoteScore(o: { compiled: CompiledScenario; secrets: Record<string, string>; url: string; speed: number; seed: number; out: string; api: string | undefined; scorecard: string | undefined }): Promise<void> {
  const token = process.env['TSUNAGARU_TOKEN'];
  if (!o.api) throw new CliArgError('--score --url: pass the running stack\'s API with --api (or --provision)');
  if (!token) throw new CliArgError('--score --url: set TSUNAGARU_TOKEN to an API token that reads alerts and resilience (admin or disaster-ops)');
  process.stdout.write(`scenario ${o.compiled.scenario.name}: scoring the stack at ${o.url} / ${o.api} at ${Number.isFinite(o.speed) ? `${o.speed}×` : 'max speed'} (seed ${o.seed})\n`);
  const started = Date.now();
  const r = await scoreRunningStack({
    compiled: o.compiled, secrets: o.secrets, mqttUrl: o.url, apiUrl: o.api, token, speed: o.speed, seed: o.seed, logger: stderrLogger('warn'),
    onProgress: (p) => process.stdout.write(`  t0${p.simTs >= o.compiled.t0 ? '+' : '−'}${(Math.abs(p.simTs - o.compiled.t0) / 3_600_000).toFixed(1)}h  published ${p.published}\n`),
  });
  await writeFile(o.out, `${JSON.stringify(r.truth, null, 2)}\n`);
  if (o.scorecard) await writeFile(o.scorecard, `${JSON.stringify(r.scorecard, null, 2)}\n`);
  process.stdout.write(`${formatScorecard(r.scorecard)}\n${r.notMeasured.map((n) => `  not measured: ${n}\n`).join('')}  ${r.progress.published} messages in ${((Date.now() - started) / 1000).toFixed(0)} s; ground truth in ${o.out}\n`);
  reportTargets(r.scorecard);
}

function reportTargets(scorecard: Scorecard): void {
  const missed = missedTargets(scorecard);
  if (missed.length > 0) {
    process.stdout.write(`targets missed:\n${missed.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exitCode = 1;
  } else process.stdout.write('every target met\n');
}

async function runScore(scenario: Scenario, values: { seed?: string; start?: string; out?: string; rules?: string; scorecard?: string; credentials?: string; provision?: string; speed?: string; api?: string }): Promise<void> {
  const ignored = (['credentials', 'provision', 'speed', 'api'] as const).filter((k) => values[k] !== undefined);
  if (ignored.length > 0) throw new CliArgError(`--score without --url starts its own broker and ingest on the scenario's clock: --${ignored.join(', --')} do not apply (add --url to score a running stack)`);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new CliArgError(`--seed: must be an integer, got "${values.seed}"`);
  const startArg = values.start ?? 'file';
  const t0 = startArg === 'file' ? (scenario.start ? Date.parse(scenario.start) : DEFAULT_SCENARIO_T0) : startArg === 'now' ? Date.now() : Date.parse(startArg);
  if (!Number.isFinite(t0)) throw new CliArgError(`--start: not "now", "file" or an ISO date-time: "${startArg}"`);
  let alertRules: Record<string, unknown> | undefined;
  if (values.rules) {
    const text = await readFile(values.rules, 'utf8').catch((err: Error) => {
      throw new CliArgError(`--rules: cannot read ${values.rules}: ${err.message}`);
    });
    alertRules = (values.rules.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Record<string, unknown>;
  }
  process.stdout.write(`scenario ${scenario.name}: scoring against our broker and ingest on the simulated clock (seed ${seed})\n`);
  const started = Date.now();
  const r = await runScoredScenario({
    scenario, seed, t0, ...(alertRules ? { alertRules } : {}),
    onProgress: (p) => process.stdout.write(`  t0${p.simTs >= t0 ? '+' : '−'}${(Math.abs(p.simTs - t0) / 3_600_000).toFixed(1)}h  published ${p.published}\n`),
  });
  const out = values.out ?? `${scenario.name}.truth.json`;
  await writeFile(out, `${JSON.stringify(r.truth, null, 2)}\n`);
  if (values.scorecard) await writeFile(values.scorecard, `${JSON.stringify(r.scorecard, null, 2)}\n`);
  process.stdout.write(`${formatScorecard(r.scorecard)}\n  ${r.progress.published} messages in ${((Date.now() - started) / 1000).toFixed(0)} s; ground truth in ${out}\n`);
  reportTargets(r.scorecard);
}

async function runIntegrationsScenarioCli(file: string, values: { score?: boolean; url?: string; seed?: string; scorecard?: string }): Promise<void> {
  if (!values.score || values.url !== undefined) throw new CliArgError('an integrations scenario runs scored on our own broker and ingest: pass --score (without --url)');
  const scenario = await loadIntegrationsScenario(file);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new CliArgError(`--seed: must be an integer, got "${values.seed}"`);
  process.stdout.write(`integrations scenario ${scenario.name}: ChirpStack and Sparkplug into our broker and ingest\n`);
  const started = Date.now();
  const r = await runIntegrationsScoredScenario({ scenario, ...(seed !== undefined ? { seed } : {}) });
  if (values.scorecard) await writeFile(values.scorecard, `${JSON.stringify(r.scorecard, null, 2)}\n`);
  process.stdout.write(`${formatIntegrationsScorecard(r.scorecard)}\n  ${r.published} messages, ${r.rebirthRequests} rebirth requests, in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (r.scorecard.ok) process.stdout.write('every ledger matches what the simulators dropped\n');
  else {
    process.stdout.write('a ledger does not match what the simulators dropped (MISS above)\n');
    process.exitCode = 1;
  }
}
