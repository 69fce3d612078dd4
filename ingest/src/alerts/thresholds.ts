import { SEVERITY_RANK, type Severity } from './types.js';

export interface Tier {
  severity: Severity;
  threshold: number;
}

const worstFirst = (tiers: readonly Tier[]) => [...tiers].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);

/**
 * For values where low is bad (time to dark): the worst tier whose threshold the value is under. Raising or
 * escalating is immediate; leaving a tier needs the value above its threshold by `deadbandFraction`
 * (ISA-18.2 deadband), so a value hovering at a threshold does not flap. `previous` is the severity the
 * condition has now (null when inactive).
 */
export function tierBelow(value: number, tiers: readonly Tier[], previous: Severity | null, deadbandFraction: number): Severity | null {
  for (const t of worstFirst(tiers)) {
    if (value < t.threshold) return t.severity;
    const held = previous !== null && SEVERITY_RANK[previous] >= SEVERITY_RANK[t.severity];
    if (held && value < t.threshold * (1 + deadbandFraction)) return t.severity;
  }
  return null;
}

/** For values where high is bad (temperatures): as `tierBelow`, mirrored, with an absolute deadband. */
export function tierAbove(value: number, tiers: readonly Tier[], previous: Severity | null, deadband: number): Severity | null {
  for (const t of worstFirst(tiers)) {
    if (value >= t.threshold) return t.severity;
    const held = previous !== null && SEVERITY_RANK[previous] >= SEVERITY_RANK[t.severity];
    if (held && value > t.threshold - deadband) return t.severity;
  }
  return null;
}
