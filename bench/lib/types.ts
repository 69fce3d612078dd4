/**
 * The contract between `npm run bench` (bench/run.ts) and its suites (bench/suites/*.ts).
 *
 * A suite measures one thing several times (BenchContext.runs) and returns its figures; the runner
 * prints progress, keeps every run's value, and writes docs/BENCHMARKS.md. Suites never decide what
 * "good" is: a figure says whether higher is better and, when there is one, what the goal is.
 */

/** One quantity measured in several runs of the same setup (values in run order, not sorted). */
export interface Measured {
  runs: number[];
}

export interface Figure {
  /** Short, specific: "fan-in QoS 1, 200 publishers, msg/s". */
  name: string;
  unit: string;
  higherIsBetter: boolean;
  ours: Measured;
  /** The peer measured by the same load generator in the same process tree. */
  peer?: Measured & { label: string };
  /** The target, e.g. "≥ 1.0× mosquitto" or "≥ 200,000 readings/s"; checked by the runner when `goalCheck` is set. */
  goal?: string;
  /** Pass/fail of the goal from the medians (ours, peer ratio); absent when the goal is informational. */
  goalCheck?: (oursMedian: number, ratio: number | undefined) => boolean;
}

export interface SuiteResult {
  id: string;
  title: string;
  /** How it was measured: setup, load shape, what counts as done (markdown, a few sentences). */
  method: string;
  /** The command that runs this suite alone. */
  command: string;
  figures: Figure[];
  /** Optional extra markdown (e.g. a per-run table, caveats). */
  notes?: string;
}

export interface BenchContext {
  /** How many runs each figure takes (env BENCH_RUNS, default 3); the median is reported. */
  runs: number;
  /** "quick" (BENCH_QUICK=1) shrinks loads so the suite can be smoke-tested in CI-like time. */
  quick: boolean;
  /** Progress lines go to stderr: "[broker-fan-in] run 2/3: mosquitto QoS 1 …". */
  progress(message: string): void;
}

export interface Suite {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<SuiteResult>;
}
