/**
 * The shipped disaster scenarios, scored against their ground truth: simulated devices over real MQTT into
 * our broker, the ingest and the alert engine on the scenario's simulated clock (36 h in a minute or two).
 * Each fails when a target of issue 14 is missed: alert precision and recall 100 %; time-to-dark error p95
 * ≤ 10 % while a site reports and ≤ 15 % while it is silent; every site that goes dark has its critical
 * alert ≥ 55 min before it does; no raise or escalation to major or critical missing from the alert stream.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../simulators/src/scenario/schema.js';
import { runScoredScenario, type ScoredRun } from '../simulators/src/scenario/scored-run.js';
import { formatScorecard } from '../simulators/src/scenario/score.js';

const run = async (name: string): Promise<ScoredRun> => {
  const scenario = await loadScenario(new URL(`../simulators/scenarios/${name}.yaml`, import.meta.url).pathname);
  const started = Date.now();
  const r = await runScoredScenario({ scenario });
  console.log(`${formatScorecard(r.scorecard)}\n  (${r.progress.published} messages, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return r;
};

function expectTargets(r: ScoredRun): void {
  const s = r.scorecard;
  expect({ falsePositives: s.alerts.falsePositives, falseNegatives: s.alerts.falseNegatives }).toEqual({ falsePositives: [], falseNegatives: [] });
  expect(s.alerts.precision).toBe(1);
  expect(s.alerts.recall).toBe(1);
  expect(s.timeToDark.reporting.samples).toBeGreaterThan(100);
  expect(s.timeToDark.reporting.p95Pct!).toBeLessThanOrEqual(10);
  if (s.timeToDark.silent.samples > 0) expect(s.timeToDark.silent.p95Pct!).toBeLessThanOrEqual(15);
  expect(r.truth.sitesDark.length).toBeGreaterThan(0);
  expect(s.criticalLead).not.toBeNull();
  for (const lead of s.criticalLead ?? []) expect({ site: lead.deviceId, leadAtLeast55: (lead.leadMin ?? -Infinity) >= 55 }).toEqual({ site: lead.deviceId, leadAtLeast55: true });
  expect(s.escalations.missing).toEqual([]);
  expect(s.escalations.expected).toBeGreaterThan(0);
}

describe('scenarios scored against ground truth', () => {
  it('inland earthquake: two wards dark, a generator failure, two cuts isolating three islands', async () => {
    const r = await run('inland-earthquake');
    expectTargets(r);
    // What the scenario scripts, as the truth states it.
    expect(r.truth.islandsIsolated.map((i) => i.island).sort()).toEqual(['kozushima', 'niijima', 'shikinejima']);
    expect(r.truth.alerts.filter((a) => a.rule === 'generator-fault').map((a) => [a.deviceId, (a.raisedAt - r.truth.t0) / 3_600_000])).toEqual([['bsp-shinjuku-tocho', 2]]);
    expect(r.truth.alerts.filter((a) => a.rule === 'district-mains-lost').map((a) => a.deviceId).sort()).toEqual(['district:nakano', 'district:shinjuku']);
  }, 900_000);

  it('typhoon over the Izu islands: island grids fail in sequence, a generator does not start, two cuts', async () => {
    expectTargets(await run('typhoon-izu'));
  }, 900_000);

  it('typhoon flood: 14 sites lose mains within minutes, one goes critical, one goes dark unheard, islands cut off', async () => {
    const r = await run('typhoon-flood');
    expectTargets(r);
    const s = r.scorecard;
    // The site whose backhaul was cut mid-discharge was counted down while silent, and presumed dark.
    expect(s.timeToDark.silent.samples).toBeGreaterThan(10);
    expect((s.criticalLead ?? []).map((l) => l.deviceId).sort()).toEqual(['bsp-nakano-arai', 'bsp-suginami-asagaya']);
    const presumed = r.alerts.filter((a) => a.rule === 'site-presumed-dark').map((a) => a.deviceId);
    expect(presumed).toEqual(['bsp-suginami-asagaya']);
    // Root causes with their symptoms: three district power cuts, the isolated islands; symptoms were grouped.
    expect(r.alerts.filter((a) => a.rule === 'district-mains-lost').map((a) => a.deviceId).sort()).toEqual(['district:nakano', 'district:shinjuku', 'district:suginami']);
    expect(s.symptoms.grouped).toBeGreaterThanOrEqual(10);
    const silentOnIsland = r.alerts.filter((a) => a.rule === 'device-silent' && ['bsp-niijima', 'bsp-kozushima', 'ring-niijima', 'ring-kozushima', 'ring-shikinejima'].includes(a.deviceId));
    expect(silentOnIsland.length).toBeGreaterThanOrEqual(4);
    // Each was grouped under its island's isolation while that lasted (when the ring is repaired the cause
    // clears first, and what persists is released and announced on its own).
    const islandAlerts = new Map(r.alerts.filter((a) => a.rule === 'ring-island-isolated').map((a) => [a.id, a.object]));
    for (const a of silentOnIsland) {
      const causes = new Set(r.changes.filter((c) => c.alert.id === a.id && c.alert.causeId).map((c) => islandAlerts.get(c.alert.causeId!)));
      expect({ device: a.deviceId, causes: [...causes] }).toEqual({ device: a.deviceId, causes: [a.deviceId.replace(/^(bsp|ring)-/, '')] });
    }
    // The board fault is told from a cut.
    expect(r.alerts.filter((a) => a.rule === 'ring-board-fault').map((a) => a.object)).toEqual(['oshima-miyakejima']);
  }, 900_000);
});
