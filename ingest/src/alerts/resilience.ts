import type { AlertEngine } from './engine.js';
import { plantOf, siteResilience } from './rules/bs-power.js';
import { numberAttr, round1, stringAttr } from './rules/context.js';
import { currentRing } from './rules/ring.js';

/**
 * The disaster-ops view (`GET /api/v1/resilience`): every bs-power site with its time to dark, and every
 * ring segment and island. Computed from the same state the rules use, so it agrees with the alerts.
 */
export function resilienceReport(engine: AlertEngine) {
  const config = engine.config;
  const now = engine.now();
  const sites = engine.devices
    .listDevices()
    .filter((d) => d.type === 'bs-power')
    .map((d) => {
      const plant = plantOf({ state: engine.state }, d.id);
      const site = plant ? siteResilience(config, d.attributes, plant) : undefined;
      const t = site?.timeToDark;
      const minutes = t?.minutes ?? null;
      const targetHours = site?.targetHours ?? numberAttr(d.attributes, 'targetHours') ?? config.bsPower.targetHours;
      return {
        deviceId: d.id,
        site: stringAttr(d.attributes, 'site') ?? null,
        island: stringAttr(d.attributes, 'island') ?? null,
        chemistry: site?.chemistry ?? stringAttr(d.attributes, 'battery') ?? config.bsPower.defaultChemistry,
        mains: plant?.mains ?? null,
        generator: plant?.generator ?? null,
        backhaul: plant?.backhaul ?? null,
        batterySocPct: plant?.batterySocPct ?? null,
        loadA: t?.loadA ?? null,
        timeToDarkMin: minutes === null ? null : Math.round(minutes),
        batteryMin: t?.batteryMinutes == null ? null : Math.round(t.batteryMinutes),
        generatorMin: t ? Math.round(t.generatorMinutes) : null,
        controllerRuntimeMin: plant?.runtimeMin ?? null,
        targetHours,
        meetsTarget: minutes === null ? null : minutes >= targetHours * 60,
        countingDown: plant?.mains === 'off',
        alert: engine.lifecycle.conditionSeverity(d.id, 'time-to-dark'),
        readingTs: plant?.ts ?? null,
      };
    })
    .sort((a, b) => (a.timeToDarkMin ?? Infinity) - (b.timeToDarkMin ?? Infinity));
  const ring = currentRing({ state: engine.state, config });
  return {
    generatedAt: now,
    sites,
    ring: {
      name: config.ring.name,
      isolated: ring.isolated,
      islands: ring.islands,
      segments: ring.segments.map((s) => ({ ...s, reporters: ring.reporters[s.id] ?? {} })),
      upstream: ring.upstream,
    },
    summary: {
      sites: sites.length,
      sitesOnBattery: sites.filter((s) => s.countingDown).length,
      sitesBelowTarget: sites.filter((s) => s.meetsTarget === false).length,
      shortestTimeToDarkHours: sites[0]?.timeToDarkMin == null ? null : round1(sites[0].timeToDarkMin / 60),
      islandsIsolated: ring.isolated.length,
      segmentsDown: ring.segments.filter((s) => s.state === 'down').length,
    },
  };
}
