/**
 * `npm run bench`: runs the suites in bench/suites/index.ts, prints progress to stderr and the summary
 * table to stdout, and writes docs/BENCHMARKS.md. A suite that throws is reported as failed (the
 * others still run) and makes the exit status 1.
 *
 * Env: BENCH_SUITES (comma list of ids, default all), BENCH_RUNS (default 3), BENCH_QUICK=1 (small
 * loads), BENCH_WRITE=0 (do not write the doc).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeMachine } from './lib/machine.js';
import { renderMarkdown, renderSummary, type SuiteOutcome } from './lib/report.js';
import type { BenchContext, Suite } from './lib/types.js';
import { SUITES } from './suites/index.js';

const DOC_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'BENCHMARKS.md');

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function selectSuites(list: string | undefined): Suite[] {
  if (!list || list.trim() === '') return [...SUITES];
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !SUITES.some((s) => s.id === id));
  if (unknown.length) fail(`BENCH_SUITES: unknown suite ${unknown.join(', ')}; known: ${SUITES.map((s) => s.id).join(', ')}`);
  return ids.map((id) => SUITES.find((s) => s.id === id)!);
}

function runCount(text: string | undefined): number {
  if (text === undefined || text === '') return 3;
  if (!/^[1-9][0-9]?$/.test(text)) fail(`BENCH_RUNS: must be an integer 1..99, got "${text}"`);
  return Number(text);
}

/** The commands a reader runs to reproduce the report: the whole run, then each suite alone. */
function commands(suites: readonly Suite[], runs: number, quick: boolean): string[] {
  const env = [runs !== 3 ? `BENCH_RUNS=${runs}` : '', quick ? 'BENCH_QUICK=1' : ''].filter(Boolean).join(' ');
  const prefix = env ? `${env} ` : '';
  const all = suites.length === SUITES.length ? `${prefix}npm run bench` : `${prefix}BENCH_SUITES=${suites.map((s) => s.id).join(',')} npm run bench`;
  return [`${all}    # this report`, ...suites.map((s) => `${prefix}BENCH_SUITES=${s.id} BENCH_WRITE=0 npm run bench`)];
}

async function main(): Promise<void> {
  const suites = selectSuites(process.env.BENCH_SUITES);
  const runs = runCount(process.env.BENCH_RUNS);
  const quick = process.env.BENCH_QUICK === '1';
  const write = process.env.BENCH_WRITE !== '0';
  const date = new Date().toISOString();
  const machine = probeMachine(); // before any suite, so the load average is the machine's, not ours
  process.stderr.write(`bench: ${suites.map((s) => s.id).join(', ')}; ${runs} run(s)${quick ? ', quick' : ''}; load ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}\n`);

  const outcomes: SuiteOutcome[] = [];
  for (const suite of suites) {
    const ctx: BenchContext = { runs, quick, progress: (message) => process.stderr.write(`[${suite.id}] ${message}\n`) };
    const started = performance.now();
    ctx.progress(`start: ${suite.title}`);
    try {
      const result = await suite.run(ctx);
      const seconds = (performance.now() - started) / 1000;
      outcomes.push({ id: suite.id, title: suite.title, ok: true, result, seconds });
      ctx.progress(`done in ${seconds.toFixed(0)} s`);
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      outcomes.push({ id: suite.id, title: suite.title, ok: false, error, seconds });
      ctx.progress(`FAILED after ${seconds.toFixed(0)} s: ${error}`);
    }
  }

  process.stdout.write(`${renderSummary(outcomes)}\n`);
  if (write) {
    writeFileSync(DOC_PATH, renderMarkdown({ date, machine, commands: commands(suites, runs, quick), runs, quick, outcomes }));
    process.stderr.write(`bench: wrote ${DOC_PATH}\n`);
  }
  // Suites may leave handles (child processes are killed in their finally blocks); exit explicitly.
  process.exit(outcomes.some((o) => !o.ok) ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
