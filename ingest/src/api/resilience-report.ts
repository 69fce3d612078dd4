import type { AlertEngine } from '../alerts/engine.js';
import { plantOf, siteResilience, targetHoursOf } from '../alerts/rules/bs-power.js';
import { round1, stringAttr } from '../alerts/rules/context.js';
import type { LastSeen } from '../alerts/rules/device-status.js';
import { currentRing, isBoardFault, ringStatus, segmentKnowledge, type SegmentState } from '../alerts/rules/ring.js';
import { minutesLeftAt } from '../alerts/time-to-dark.js';

const ageSec = (now: number, ts: number | null | undefined) => (ts === null || ts === undefined ? null : Math.max(0, Math.round((now - ts) / 1000)));

/**
 * The disaster-ops view (`GET /api/v1/resilience`): every bs-power site with its time to dark counted down
 * to now, and every ring segment and island. Computed from the same state the rules use, so it agrees with
 * the alerts. Everything carries the age of its data; what rests on old data is marked stale, never shown
 * as current.
 */
export async function resilienceReport(engine: AlertEngine) {
  // The alerts open before a restart are loaded after the start (engine.ts open): "presumed dark" and the
  // time-to-dark alarm must not read as none meanwhile.
  await engine.loaded();
  const config = engine.config;
  const now = engine.now();
  const seen = new Map((await engine.lastSeen()).map((d) => [d.deviceId, d]));
  const staleAfterMs = (d: LastSeen | undefined) => Math.max(config.silence.k * (d?.sampleSec ?? 300), config.silence.minSilenceSec) * 1000;
  const sites = engine.devices
    .listDevices()
    .filter((d) => d.type === 'bs-power')
    .map((d) => {
      const plant = plantOf({ state: engine.state }, d.id);
      const site = plant ? siteResilience(config, d.attributes, plant) : undefined;
      const t = site?.timeToDark;
      const onBattery = plant?.mains === 'off';
      const left = t?.minutes == null || !plant ? null : minutesLeftAt(t.minutes, plant.ts, onBattery, now);
      const targetHours = site?.targetHours ?? targetHoursOf(config, d.attributes);
      const heard = seen.get(d.id);
      const stale = plant ? now - plant.ts > staleAfterMs(heard) : true;
      const silent = heard ? !heard.online || heard.lastSeen === null || now - heard.lastSeen > staleAfterMs(heard) : true;
      const round = (m: number | null | undefined) => (m == null ? null : Math.round(m));
      return {
        deviceId: d.id,
        site: stringAttr(d.attributes, 'site') ?? null,
        island: stringAttr(d.attributes, 'island') ?? null,
        district: stringAttr(d.attributes, 'district') ?? null,
        priority: stringAttr(d.attributes, 'priority') ?? null,
        chemistry: site?.chemistry ?? stringAttr(d.attributes, 'battery') ?? config.bsPower.defaultChemistry,
        mains: plant?.mains ?? null,
        generator: plant?.generator ?? null,
        backhaul: plant?.backhaul ?? null,
        batterySocPct: plant?.batterySocPct ?? null,
        batteryV: plant?.batteryV ?? null,
        loadA: t?.loadA ?? null,
        /** Minutes left now: the estimate counted down since its reading while on battery. */
        timeToDarkMin: round(left),
        /** The estimate as of its reading (`estimateAt`, device time), and where it came from. */
        estimateMin: round(t?.minutes),
        estimateAt: plant?.ts ?? null,
        source: t?.source ?? null,
        controllerBatteryMin: round(t?.controllerBatteryMinutes),
        computedBatteryMin: round(t?.computedBatteryMinutes),
        batteryMin: round(t?.batteryMinutes),
        generatorMin: t ? Math.round(t.generatorMinutes) : null,
        controllerRuntimeMin: plant?.runtimeMin ?? null,
        targetHours,
        meetsTarget: left === null ? null : left >= targetHours * 60,
        countingDown: onBattery,
        silent,
        presumedDark: engine.lifecycle.conditionSeverity(d.id, 'site-presumed-dark') !== null,
        stale,
        dataAgeSec: ageSec(now, plant?.ts),
        alert: engine.lifecycle.conditionSeverity(d.id, 'time-to-dark'),
        readingTs: plant?.ts ?? null,
      };
    })
    .sort((a, b) => (a.timeToDarkMin ?? Infinity) - (b.timeToDarkMin ?? Infinity));
  return { generatedAt: now, sites, ring: ringView(engine, now), summary: summary(sites, ringView(engine, now)) };
}

/**
 * The ring as known now. Isolation is judged on what was last known (as the alarms are); an island is
 * shown `connected` only over segments with fresh reports, and `unknown` when that rests on expired ones.
 */
function ringView(engine: AlertEngine, now: number) {
  const ctx = { state: engine.state, config: engine.config, now };
  const ring = currentRing(ctx);
  const knowledge = new Map(engine.config.ring.topology.segments.map((s) => [s.id, segmentKnowledge(ctx, s.id)]));
  const freshState = (id: string): SegmentState | undefined => {
    const k = knowledge.get(id);
    // Upstream links to the mainland are not ring segments: they count as reported when a node reports them.
    if (!k) return currentRing(ctx).upstream.find((u) => u.segment === id)?.state === 'down' ? 'down' : undefined;
    // Not known to carry traffic now: no path through it counts as fresh.
    return k.stale ? 'down' : k.lastKnown?.state;
  };
  const fresh = ringStatus(engine.config.ring.topology, freshState);
  const segments = ring.segments.map((s) => {
    const k = knowledge.get(s.id);
    const reporters = ring.reporters[s.id] ?? {};
    const board = Object.values(reporters).some((r) => isBoardFault(r));
    return {
      ...s,
      state: k?.stale ? ('unknown' as const) : s.state,
      lastKnownState: s.state,
      cause: s.state === 'down' ? (board ? 'board-fault' : 'cut') : null,
      stale: k?.stale ?? true,
      dataAgeSec: ageSec(now, k?.lastReportAt),
      reporters,
    };
  });
  const islands = ring.islands.map((i) => {
    const connected = !i.isolated && fresh.islands.find((f) => f.island === i.island)?.isolated === false;
    const ages = segments.filter((s) => s.ends.includes(i.island)).map((s) => s.dataAgeSec).filter((a): a is number => a !== null);
    return {
      ...i,
      connectivity: i.isolated ? ('isolated' as const) : connected ? ('connected' as const) : ('unknown' as const),
      stale: !connected && !i.isolated,
      dataAgeSec: ages.length > 0 ? Math.min(...ages) : null,
    };
  });
  return { name: engine.config.ring.name, isolated: ring.isolated, islands, segments, upstream: ring.upstream };
}

function summary(sites: ReadonlyArray<{ countingDown: boolean; meetsTarget: boolean | null; timeToDarkMin: number | null; stale: boolean; presumedDark: boolean }>, ring: ReturnType<typeof ringView>) {
  const shortest = sites.find((s) => s.timeToDarkMin !== null);
  return {
    sites: sites.length,
    sitesOnBattery: sites.filter((s) => s.countingDown).length,
    sitesBelowTarget: sites.filter((s) => s.meetsTarget === false).length,
    sitesStale: sites.filter((s) => s.stale).length,
    sitesPresumedDark: sites.filter((s) => s.presumedDark).length,
    shortestTimeToDarkHours: shortest?.timeToDarkMin == null ? null : round1(shortest.timeToDarkMin / 60),
    islandsIsolated: ring.isolated.length,
    islandsUnknown: ring.islands.filter((i) => i.connectivity === 'unknown').length,
    segmentsDown: ring.segments.filter((s) => s.lastKnownState === 'down').length,
    segmentsUnknown: ring.segments.filter((s) => s.state === 'unknown').length,
  };
}
