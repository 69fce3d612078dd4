import { describe, expect, it } from 'vitest';
import { tierAbove, tierBelow, type Tier } from './thresholds.js';
import type { Severity } from './types.js';

describe('tiers with deadband', () => {
  const ttd: Tier[] = [{ severity: 'warning', threshold: 1440 }, { severity: 'major', threshold: 360 }, { severity: 'critical', threshold: 60 }];

  it('raises and escalates at once, and de-escalates only past the threshold plus the deadband', () => {
    expect(tierBelow(2000, ttd, null, 0.05)).toBeNull();
    expect(tierBelow(1000, ttd, null, 0.05)).toBe('warning');
    expect(tierBelow(59, ttd, 'warning', 0.05)).toBe('critical');
    expect(tierBelow(62, ttd, 'critical', 0.05)).toBe('critical');
    expect(tierBelow(64, ttd, 'critical', 0.05)).toBe('major');
    expect(tierBelow(1450, ttd, 'warning', 0.05)).toBe('warning');
    expect(tierBelow(1513, ttd, 'warning', 0.05)).toBeNull();
  });

  it('a value hovering at a high threshold does not flap', () => {
    const cab: Tier[] = [{ severity: 'warning', threshold: 45 }, { severity: 'major', threshold: 50 }];
    let sev: Severity | null = null;
    const seen: Array<Severity | null> = [];
    for (const v of [50.1, 49.9, 50.2, 49.7, 50.0, 49.8, 48.5]) seen.push((sev = tierAbove(v, cab, sev, 3)));
    expect(seen).toEqual(['major', 'major', 'major', 'major', 'major', 'major', 'major']);
    expect(tierAbove(46.9, cab, sev, 3)).toBe('warning');
    expect(tierAbove(41.9, cab, 'warning', 3)).toBeNull();
  });
});
