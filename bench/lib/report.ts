/**
 * Renders suite results as the summary printed to stdout and as docs/BENCHMARKS.md. Pure functions
 * of their input (no clock, no machine probing) so the test can pin the output.
 */
import type { MachineInfo } from './machine.js';
import { advantage, median, spread } from './stats.js';
import type { Figure, SuiteResult } from './types.js';

/** What happened to one suite: its result, or the error it threw. */
export type SuiteOutcome =
  | { id: string; title: string; ok: true; result: SuiteResult; seconds: number }
  | { id: string; title: string; ok: false; error: string; seconds: number };

export interface BenchReport {
  /** ISO 8601, when the run started. */
  date: string;
  machine: MachineInfo;
  /** Shell commands that reproduce this report, e.g. `BENCH_RUNS=3 npm run bench`. */
  commands: string[];
  runs: number;
  quick: boolean;
  outcomes: SuiteOutcome[];
}

/** One summary row: medians, ratio and goal of a figure, computed once for both renderings. */
export interface SummaryRow {
  suite: string;
  figure: string;
  unit: string;
  ours: number;
  peer: number | undefined;
  peerLabel: string | undefined;
  /** > 1 = ahead of the peer, whichever direction is better. */
  ratio: number | undefined;
  goal: string | undefined;
  /** undefined when the figure has no checkable goal. */
  met: boolean | undefined;
  spreadOurs: number;
  spreadPeer: number | undefined;
  runs: number;
}

export function summarize(suiteId: string, f: Figure): SummaryRow {
  const ours = median(f.ours.runs);
  const peer = f.peer ? median(f.peer.runs) : undefined;
  const ratio = peer !== undefined && Number.isFinite(peer) && Number.isFinite(ours) ? advantage(ours, peer, f.higherIsBetter) : undefined;
  let met: boolean | undefined;
  if (f.goalCheck) {
    try {
      met = f.goalCheck(ours, ratio);
    } catch {
      met = false; // a goal that cannot be evaluated (e.g. no peer value) is not met
    }
  }
  return {
    suite: suiteId,
    figure: f.name,
    unit: f.unit,
    ours,
    peer,
    peerLabel: f.peer?.label,
    ratio,
    goal: f.goal,
    met,
    spreadOurs: spread(f.ours.runs),
    spreadPeer: f.peer ? spread(f.peer.runs) : undefined,
    runs: f.ours.runs.length,
  };
}

/** Numbers as a reader wants them: thousands separated, three significant digits below 100. */
export function formatNumber(n: number | undefined): string {
  if (n === undefined) return '–';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}

export function formatRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`;
}

export function formatSpread(s: number | undefined): string {
  return s === undefined ? '–' : Number.isFinite(s) ? `${Math.round(s * 100)} %` : 'n/a';
}

function metText(met: boolean | undefined): string {
  return met === undefined ? '–' : met ? 'yes' : '**no**';
}

/** A pipe or newline inside a cell would break the markdown table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

export function summaryRows(outcomes: readonly SuiteOutcome[]): SummaryRow[] {
  return outcomes.flatMap((o) => (o.ok ? o.result.figures.map((f) => summarize(o.id, f)) : []));
}

const SUMMARY_HEADER = ['suite', 'figure', 'ours median', 'peer median', 'ratio (>1 = ahead)', 'goal', 'met?', 'spread of runs ours/peer', 'runs'];

function summaryCells(r: SummaryRow): string[] {
  return [
    r.suite,
    `${r.figure} (${r.unit})`,
    formatNumber(r.ours),
    r.peer === undefined ? '–' : `${formatNumber(r.peer)} (${r.peerLabel})`,
    formatRatio(r.ratio),
    r.goal ?? '–',
    metText(r.met),
    `${formatSpread(r.spreadOurs)} / ${formatSpread(r.spreadPeer)}`,
    String(r.runs),
  ];
}

/** The summary as a markdown table (also readable on a terminal), failed suites listed under it. */
export function renderSummary(outcomes: readonly SuiteOutcome[]): string {
  const lines = [row(SUMMARY_HEADER), row(SUMMARY_HEADER.map(() => '---')), ...summaryRows(outcomes).map((r) => row(summaryCells(r)))];
  for (const o of outcomes) if (!o.ok) lines.push('', `FAILED ${o.id}: ${firstLine(o.error)}`);
  return lines.join('\n');
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function runsText(values: readonly number[]): string {
  return values.map(formatNumber).join(', ');
}

function renderSuite(o: SuiteOutcome): string {
  const lines = [`## ${o.title} (\`${o.id}\`)`, ''];
  if (!o.ok) {
    lines.push(`**Failed** after ${o.seconds.toFixed(0)} s:`, '', '```', o.error, '```');
    return lines.join('\n');
  }
  const r = o.result;
  lines.push(`Command: \`${r.command}\` (${o.seconds.toFixed(0)} s)`, '', `**Method.** ${r.method}`, '');
  lines.push(row(['figure', 'unit', 'ours, every run', 'ours median', 'peer, every run', 'peer median', 'ratio', 'goal', 'met?']));
  lines.push(row(Array.from({ length: 9 }, () => '---')));
  for (const f of r.figures) {
    const s = summarize(o.id, f);
    lines.push(
      row([
        f.name,
        f.unit,
        runsText(f.ours.runs),
        formatNumber(s.ours),
        f.peer ? `${runsText(f.peer.runs)} (${f.peer.label})` : '–',
        formatNumber(s.peer),
        formatRatio(s.ratio),
        f.goal ?? '–',
        metText(s.met),
      ]),
    );
  }
  if (r.notes) lines.push('', r.notes.trim());
  return lines.join('\n');
}

export function renderMachine(m: MachineInfo): string {
  const peers = Object.entries(m.peers).map(([name, version]) => `${name} ${version ?? 'not installed'}`);
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores`,
    `- RAM: ${formatNumber(m.memoryGiB)} GiB`,
    `- Kernel: ${m.kernel}; Node ${m.node}`,
    `- Peers: ${peers.join('; ')}`,
    `- Load average before the run (1/5/15 min): ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')}`,
    `- \`ulimit -n\`: ${m.openFilesLimit ?? 'unknown'}`,
  ].join('\n');
}

export function renderMarkdown(report: BenchReport): string {
  const failed = report.outcomes.filter((o) => !o.ok).length;
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${report.date} (${report.runs} run${report.runs === 1 ? '' : 's'} per figure${report.quick ? ', **quick mode: small loads, not comparable to full runs**' : ''}). ` +
      'Each figure is the median of its runs; the ratio is ours against the peer, above 1 when we are ahead ' +
      '(higher throughput, or lower latency and memory). Spread is (max − min) / median of the runs.',
    '',
    '## Machine',
    '',
    renderMachine(report.machine),
    '',
    '## Commands',
    '',
    '```sh',
    ...report.commands,
    '```',
    '',
    '## Summary',
    '',
    renderSummary(report.outcomes),
    ...(failed ? ['', `**${failed} suite${failed === 1 ? '' : 's'} failed**; see below.`] : []),
    '',
    ...report.outcomes.flatMap((o) => [renderSuite(o), '']),
  ].join('\n');
}
