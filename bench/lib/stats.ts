/** Small statistics for benchmark figures: medians of runs, their spread, latency percentiles. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

/**
 * How noisy the runs were: (max - min) / median, e.g. 0.08 = the runs span 8 % of the median.
 * 0 for a single run, NaN when the median is 0.
 */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  if (m === 0) return NaN;
  return (Math.max(...values) - Math.min(...values)) / Math.abs(m);
}

/** ours/peer when higher is better, peer/ours when lower is better: > 1 always means "we are ahead". */
export function advantage(ours: number, peer: number, higherIsBetter: boolean): number {
  return higherIsBetter ? ours / peer : peer / ours;
}
