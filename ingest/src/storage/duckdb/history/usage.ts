/**
 * Volume through a register (water meter `indexL`) per bucket, from the buckets' first and last readings:
 * the register is interpolated linearly at the bucket's start and end between the readings on either side
 * (domain notes: "Volumes over a period come from register (index) values interpolated at the period's
 * ends"). Only the buckets right before and after count as neighbours; without one, the bucket's own first
 * or last reading stands at that end (nothing is extrapolated), so a meter silent for a whole bucket leaves
 * the volume across that silence out (coverage says so) instead of guessing it.
 *
 * Consecutive buckets' volumes add up exactly to the register's rise over them (the interpolated value at
 * a shared boundary cancels), which is what makes daily volumes and a DMA's sum of them consistent.
 */

export interface BucketRefs {
  /** Bucket start, epoch ms (a DOUBLE expression). */
  start: string;
  bucketMs: number;
  first: string;
  firstTs: string;
  last: string;
  lastTs: string;
  /** The previous bucket's last reading and time; `prevAdjacent` true when it is the bucket just before. */
  prevLast: string;
  prevLastTs: string;
  prevAdjacent: string;
  nextFirst: string;
  nextFirstTs: string;
  nextAdjacent: string;
}

const ms = (t: string) => `epoch_ms(${t})::DOUBLE`;

/** SQL (DOUBLE): the volume of the bucket. */
export function interpolatedUsageSql(b: BucketRefs): string {
  const end = `(${b.start} + ${b.bucketMs})`;
  const atStart = `CASE WHEN ${b.prevAdjacent} THEN ${b.prevLast}::DOUBLE + (${b.first}::DOUBLE - ${b.prevLast}::DOUBLE) * (${b.start} - ${ms(b.prevLastTs)}) / (${ms(b.firstTs)} - ${ms(b.prevLastTs)}) ELSE ${b.first}::DOUBLE END`;
  const atEnd = `CASE WHEN ${b.nextAdjacent} THEN ${b.last}::DOUBLE + (${b.nextFirst}::DOUBLE - ${b.last}::DOUBLE) * (${end} - ${ms(b.lastTs)}) / (${ms(b.nextFirstTs)} - ${ms(b.lastTs)}) ELSE ${b.last}::DOUBLE END`;
  return `((${atEnd}) - (${atStart}))`;
}

/**
 * Window columns for `interpolatedUsageSql` over rows with `bucket` (a TIMESTAMP or DATE), `first`,
 * `firstTs`, `last`, `lastTs` columns, per device: prev_last, prev_last_ts, prev_adjacent, next_first,
 * next_first_ts, next_adjacent. `step` is the SQL interval between adjacent buckets.
 */
export function neighbourColumns(bucket: string, step: string, c: { first: string; firstTs: string; last: string; lastTs: string }): string {
  const w = `OVER (PARTITION BY device_id ORDER BY ${bucket})`;
  return [
    `lag(${c.last}) ${w} AS prev_last`,
    `lag(${c.lastTs}) ${w} AS prev_last_ts`,
    `coalesce(lag(${bucket}) ${w} = ${bucket} - ${step}, false) AS prev_adjacent`,
    `lead(${c.first}) ${w} AS next_first`,
    `lead(${c.firstTs}) ${w} AS next_first_ts`,
    `coalesce(lead(${bucket}) ${w} = ${bucket} + ${step}, false) AS next_adjacent`,
  ].join(', ');
}

export const NEIGHBOURS = { prevLast: 'prev_last', prevLastTs: 'prev_last_ts', prevAdjacent: 'prev_adjacent', nextFirst: 'next_first', nextFirstTs: 'next_first_ts', nextAdjacent: 'next_adjacent' } as const;
