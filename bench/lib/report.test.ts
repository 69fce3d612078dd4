import { describe, expect, it } from 'vitest';
import type { MachineInfo } from './machine.js';
import { formatNumber, renderMarkdown, renderSummary, summarize, type SuiteOutcome } from './report.js';
import type { SuiteResult } from './types.js';

const machine: MachineInfo = {
  cpuModel: 'Test CPU @ 2.0GHz',
  cores: 2,
  memoryGiB: 7.75,
  kernel: '6.1.0-test',
  node: 'v20.19.0',
  peers: { mosquitto: '2.0.11', influxd: undefined },
  loadAverage: [0.5, 0.25, 0.125],
  openFilesLimit: 20000,
};

const fanIn: SuiteResult = {
  id: 'broker-fan-in',
  title: 'Broker fan-in',
  method: '100 publishers → 1 subscriber.',
  command: 'BENCH_SUITES=broker-fan-in npm run bench',
  figures: [
    {
      name: 'QoS 1 delivered',
      unit: 'msg/s',
      higherIsBetter: true,
      ours: { runs: [12000, 10000, 11000] },
      peer: { label: 'mosquitto', runs: [20000, 22000, 21000] },
      goal: '≥ 1.0× mosquitto',
      goalCheck: (_ours, ratio) => ratio !== undefined && ratio >= 1,
    },
    {
      name: 'p99 latency | QoS 1',
      unit: 'ms',
      higherIsBetter: false,
      ours: { runs: [2, 4, 3] },
      peer: { label: 'mosquitto', runs: [6, 6, 6] },
    },
    { name: 'memory', unit: 'KiB/conn', higherIsBetter: false, ours: { runs: [42.123] } },
  ],
  notes: 'Rate limits off.',
};

const outcomes: SuiteOutcome[] = [
  { id: 'broker-fan-in', title: 'Broker fan-in', ok: true, result: fanIn, seconds: 61.4 },
  { id: 'connections', title: 'Connections', ok: false, error: 'Error: mosquitto exited\n    at start (x.ts:1)', seconds: 3 },
];

describe('bench report', () => {
  it('summarizes medians, the ratio in the better direction and the goal', () => {
    const [throughput, latency, memory] = fanIn.figures.map((f) => summarize('broker-fan-in', f));
    expect(throughput).toMatchObject({ ours: 11000, peer: 21000, met: false, runs: 3 });
    expect(throughput!.ratio).toBeCloseTo(11000 / 21000);
    expect(throughput!.spreadOurs).toBeCloseTo(2000 / 11000);
    expect(latency).toMatchObject({ ours: 3, peer: 6, ratio: 2, met: undefined, spreadPeer: 0 });
    expect(memory).toMatchObject({ peer: undefined, ratio: undefined, spreadPeer: undefined });
  });

  it('formats numbers for readers', () => {
    expect(formatNumber(123456.7)).toBe('123,457');
    expect(formatNumber(42.123)).toBe('42.1');
    expect(formatNumber(0.001234)).toBe('0.00123');
    expect(formatNumber(undefined)).toBe('–');
  });

  it('renders the summary table with failed suites named under it', () => {
    const text = renderSummary(outcomes);
    const lines = text.split('\n');
    expect(lines[0]).toBe('| suite | figure | ours median | peer median | ratio (>1 = ahead) | goal | met? | spread of runs ours/peer | runs |');
    expect(lines[2]).toBe('| broker-fan-in | QoS 1 delivered (msg/s) | 11,000 | 21,000 (mosquitto) | 0.52× | ≥ 1.0× mosquitto | **no** | 18 % / 10 % | 3 |');
    // A pipe in a figure name must not open a new column.
    expect(lines[3]).toBe('| broker-fan-in | p99 latency \\| QoS 1 (ms) | 3 | 6 (mosquitto) | 2.00× | – | – | 67 % / 0 % | 3 |');
    expect(lines[4]).toBe('| broker-fan-in | memory (KiB/conn) | 42.1 | – | – | – | – | 0 % / – | 1 |');
    expect(text).toContain('FAILED connections: Error: mosquitto exited');
  });

  it('renders the document: machine, commands, every run, notes and the failure with its error', () => {
    const doc = renderMarkdown({ date: '2026-11-24T02:00:00.000Z', machine, commands: ['npm run bench'], runs: 3, quick: false, outcomes });
    expect(doc).toMatch(/^# Benchmarks\n/);
    expect(doc).toContain('on 2026-11-24T02:00:00.000Z (3 runs per figure)');
    expect(doc).toContain('- CPU: Test CPU @ 2.0GHz, 2 cores');
    expect(doc).toContain('- Peers: mosquitto 2.0.11; influxd not installed');
    expect(doc).toContain('(1/5/15 min): 0.50 / 0.25 / 0.13');
    expect(doc).toContain('```sh\nnpm run bench\n```');
    expect(doc).toContain('## Broker fan-in (`broker-fan-in`)');
    expect(doc).toContain('**Method.** 100 publishers → 1 subscriber.');
    expect(doc).toContain('| QoS 1 delivered | msg/s | 12,000, 10,000, 11,000 | 11,000 | 20,000, 22,000, 21,000 (mosquitto) | 21,000 | 0.52× | ≥ 1.0× mosquitto | **no** |');
    expect(doc).toContain('Rate limits off.');
    expect(doc).toContain('**1 suite failed**');
    expect(doc).toContain('## Connections (`connections`)\n\n**Failed** after 3 s:\n\n```\nError: mosquitto exited\n    at start (x.ts:1)\n```');
    expect(doc).not.toContain('quick mode');
  });

  it('marks a quick run as not comparable', () => {
    const doc = renderMarkdown({ date: 'd', machine, commands: [], runs: 1, quick: true, outcomes: [] });
    expect(doc).toContain('(1 run per figure, **quick mode: small loads, not comparable to full runs**)');
  });
});
