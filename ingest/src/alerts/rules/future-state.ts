import type { RuleState } from './context.js';

/**
 * The rules remember each device's newest sample (water `lastTs`, plant and pole `ts`, ring reports) and
 * skip anything older. One sample stamped in the future (a wrong device clock, before the pipeline
 * refused those) therefore made every later, true sample look old: a meter stamped 2099 raised no burst
 * or tamper alarm again. At start, such state is forgotten, as for a new device; returns the scopes healed.
 */
export function forgetFutureState(state: RuleState, notAfter: number): string[] {
  const healed: string[] = [];
  for (const prefix of ['water:', 'bs:', 'pole:']) {
    for (const [scope, value] of state.entries<{ ts?: unknown; lastTs?: unknown } | null>(prefix)) {
      const ts = value?.lastTs ?? value?.ts;
      if (typeof ts === 'number' && ts > notAfter) {
        state.set(scope, null);
        healed.push(scope);
      }
    }
  }
  for (const [scope, reports] of state.entries<Record<string, Record<string, { ts: number }>> | null>('ring:')) {
    if (!reports) continue;
    let changed = false;
    const kept = Object.fromEntries(
      Object.entries(reports).map(([segment, bySource]) => [
        segment,
        Object.fromEntries(Object.entries(bySource).filter(([, r]) => (r.ts > notAfter ? ((changed = true), false) : true))),
      ]),
    );
    if (changed) {
      state.set(scope, kept);
      healed.push(scope);
    }
  }
  return healed;
}
