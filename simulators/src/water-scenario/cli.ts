/** `npm run sim -- scenario <water scenario> --score`: the water scenario scored on our own broker and ingest. */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { CliArgError } from '../cli-args.js';
import { runWaterScoredScenario } from './scored-run.js';
import { loadWaterScenario } from './schema.js';
import { formatWaterScorecard, missedWaterTargets } from './score.js';

export async function runWaterScenarioCli(file: string, values: { score?: boolean; url?: string; seed?: string; out?: string; rules?: string; scorecard?: string }): Promise<void> {
  if (!values.score || values.url !== undefined) throw new CliArgError('a water scenario runs scored on our own broker and ingest: pass --score (without --url)');
  const scenario = await loadWaterScenario(file);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new CliArgError(`--seed: must be an integer, got "${values.seed}"`);
  let alertRules: Record<string, unknown> | undefined;
  if (values.rules) {
    const text = await readFile(values.rules, 'utf8').catch((err: Error) => {
      throw new CliArgError(`--rules: cannot read ${values.rules}: ${err.message}`);
    });
    alertRules = (values.rules.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Record<string, unknown>;
  }
  process.stdout.write(`water scenario ${scenario.name}: scoring against our broker and ingest on the simulated clock (seed ${seed})\n`);
  const started = Date.now();
  const r = await runWaterScoredScenario({ scenario, seed, ...(alertRules ? { alertRules } : {}), onDay: (d) => process.stdout.write(`  day ${d}\n`) });
  const out = values.out ?? `${scenario.name}.truth.json`;
  await writeFile(out, `${JSON.stringify(r.truth, null, 2)}\n`);
  if (values.scorecard) await writeFile(values.scorecard, `${JSON.stringify(r.scorecard, null, 2)}\n`);
  process.stdout.write(`${formatWaterScorecard(r.scorecard)}\n  ${r.published} messages in ${((Date.now() - started) / 1000).toFixed(0)} s; ground truth in ${out}\n`);
  const missed = missedWaterTargets(r.scorecard);
  if (missed.length > 0) {
    process.stdout.write(`targets missed:\n${missed.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exitCode = 1;
  } else process.stdout.write('every target met\n');
}
