import { districtObject } from '../correlation.js';
import { stringAttr, type RuleContext } from './context.js';

/** Sites of one district on battery: site id → device time mains was lost. */
type DistrictSites = Record<string, number>;

const scope = (district: string) => `district:${district}`;

/** The largest number of times that fall within `windowMs` of each other, and the first of them. */
function largestCluster(times: readonly number[], windowMs: number): { size: number; first: number | null } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { size: 0, first: null as number | null };
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! > windowMs) i++;
    if (j - i + 1 > best.size) best = { size: j - i + 1, first: sorted[i]! };
  }
  return best;
}

/**
 * A district power cut, a root cause (domain notes, "Correlation"): at least `districtMinSites` sites of
 * one district (attribute `district`) lose mains within `districtWindowMin` of each other. It holds while
 * that many are still on battery; their mains-lost alerts are its symptoms (correlation.ts).
 */
export function onSiteMains(ctx: RuleContext, deviceId: string, lostAt: number | null): void {
  const district = stringAttr(ctx.attributes(deviceId), 'district');
  if (!district) return;
  const sites: DistrictSites = { ...(ctx.state.get<DistrictSites>(scope(district)) ?? {}) };
  if (lostAt === null) delete sites[deviceId];
  else sites[deviceId] = lostAt;
  ctx.state.set(scope(district), sites);

  const b = ctx.config.bsPower;
  const off = Object.keys(sites).sort();
  const cluster = largestCluster(Object.values(sites), b.districtWindowMin * 60_000);
  const wasActive = ctx.severityOf(districtObject(district), 'district-mains-lost') !== null;
  const active = cluster.size >= b.districtMinSites || (wasActive && off.length >= b.districtMinSites);
  ctx.report({
    deviceId: districtObject(district), rule: 'district-mains-lost', object: null, deviceType: 'bs-power', active,
    severity: ctx.config.rules['district-mains-lost'].severity, value: off.length,
    message: `district power cut in ${district}: ${off.length} sites on battery (${off.join(', ')})`,
    detail: { district, sites: off },
    ...(cluster.first !== null ? { observedAt: cluster.first } : {}),
  });
}
