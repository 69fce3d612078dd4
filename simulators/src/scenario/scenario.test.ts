import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BsPowerModel } from '../bs-power.js';
import { futureWarning, scenarioStart } from './cli.js';
import { compileScenario } from './compile.js';
import { loadScenario, parseOffset, parseScenario, ScenarioError } from './schema.js';
import { createModel } from '../create-model.js';
import { groundTruth, isolatedIslands, scoreAlerts, trueMinutesLeft, type RecordedEvent } from './truth.js';
import { DEFAULT_RING_TOPOLOGY } from '../ring-topology.js';
import { compileWaterScenario } from '../water-scenario/compile.js';
import { loadWaterScenario } from '../water-scenario/schema.js';
import { loadIntegrationsScenario } from '../integrations-scenario/schema.js';

const base = {
  name: 'test',
  duration: '4h',
  sites: [{ id: 'bsp-a', site: 'a', district: 'shinjuku', generator: true }],
  timeline: [{ at: '0m', action: 'grid-lost', districts: ['shinjuku'] }],
};

describe('scenario files', () => {
  it('parses offsets', () => {
    expect(parseOffset('30m')).toBe(1_800_000);
    expect(parseOffset('+1h30m')).toBe(5_400_000);
    expect(parseOffset('1d')).toBe(86_400_000);
    expect(parseOffset('soon')).toBeUndefined();
    expect(parseOffset('')).toBeUndefined();
  });

  it('names the field of every mistake', () => {
    const bad = (patch: object) => () => parseScenario({ ...base, ...patch }, 'x.yaml');
    expect(bad({ timeline: [{ at: 'later', action: 'grid-lost', districts: ['shinjuku'] }] })).toThrow(/^x\.yaml: timeline\.0\.at: must be an offset/);
    expect(bad({ timeline: [{ at: '1h', action: 'flood' }] })).toThrow(/timeline\.0\.action/);
    expect(bad({ sites: [{ id: 'bsp-a', site: 'a', district: 'x', battery: 'nicd' }] })).toThrow(/sites\.0\.battery/);
    expect(bad({ timeline: [{ at: '1h', action: 'generator-fails', site: 'bsp-zz' }] })).toThrow(/timeline\.0\.site: no site "bsp-zz"/);
    expect(bad({ timeline: [{ at: '1h', action: 'grid-lost', districts: ['chiyoda'] }] })).toThrow(/timeline\.0\.districts: no site in chiyoda/);
    expect(bad({ surprise: 1 })).toThrow(ScenarioError);
    const cut = parseScenario({ ...base, timeline: [{ at: '1h', action: 'segments-cut', segments: ['oshima-hachijojima'] }] });
    expect(() => compileScenario(cut, 0)).toThrow(/timeline\.0\.segments: no segment "oshima-hachijojima"/);
  });

  it('compiles the timeline into model options and one ring node per island', () => {
    const s = parseScenario({ ...base, timeline: [...base.timeline, { at: '2h', action: 'generator-fails', site: 'bsp-a' }, { at: '30m', action: 'segments-cut', segments: ['toshima-niijima'] }] });
    const c = compileScenario(s, 1_000_000);
    const site = c.devices.find((d) => d.id === 'bsp-a');
    expect(site).toMatchObject({ type: 'bs-power', simulation: { mainsLostAtTs: 1_000_000, generatorFailsAtTs: 1_000_000 + 7_200_000, generator: true } });
    expect(c.devices.filter((d) => d.type === 'ring-node')).toHaveLength(7);
    expect(c.devices.find((d) => d.id === 'ring-niijima')).toMatchObject({ simulation: { faults: [{ segment: 'toshima-niijima', fromTs: 1_000_000 + 1_800_000 }] } });
    expect(c.endTs).toBe(1_000_000 + 4 * 3_600_000);
  });
});

describe('shipped scenarios', () => {
  const dir = new URL('../../scenarios/', import.meta.url);
  it.each(readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)))('%s validates and compiles', async (file) => {
    if (readFileSync(new URL(file, dir), 'utf8').includes('kind: water')) {
      const w = compileWaterScenario(await loadWaterScenario(new URL(file, dir).pathname));
      expect(w.devices.length).toBeGreaterThan(0);
      expect(w.endTs).toBeGreaterThan(w.t0);
      return;
    }
    if (readFileSync(new URL(file, dir), 'utf8').includes('kind: integrations')) {
      const i = await loadIntegrationsScenario(new URL(file, dir).pathname);
      expect(i.chirpstack ?? i.sparkplug).toBeDefined();
      return;
    }
    const s = await loadScenario(new URL(file, dir).pathname);
    const c = compileScenario(s, Date.parse(s.start ?? '2026-01-01T00:00:00Z'));
    expect(c.devices.length).toBeGreaterThan(0);
    expect(c.endTs).toBeGreaterThan(c.t0);
  });
});

describe('scenario start (t0)', () => {
  const NOW = Date.parse('2026-12-05T18:00:00Z');
  it('ends a run at the wall clock by default, so even at max speed no sample is stamped in the future', async () => {
    const s = await loadScenario(new URL('../../scenarios/inland-earthquake.yaml', import.meta.url).pathname);
    const t0 = scenarioStart('now', s, NOW);
    expect(t0).toBe(NOW - 24 * 3_600_000); // duration: 24h
    expect(compileScenario(s, t0).endTs).toBe(NOW);
    expect(futureWarning(t0, s, NOW)).toBeUndefined();
  });

  it('takes the file\'s start or an ISO date-time, and warns when the run would stamp the future', () => {
    const s = parseScenario({ ...base, start: '2026-12-05T17:00:00Z' });
    expect(scenarioStart('file', s, NOW)).toBe(Date.parse('2026-12-05T17:00:00Z'));
    expect(scenarioStart('2026-12-01T00:00:00Z', s, NOW)).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(futureWarning(Date.parse('2026-12-05T17:00:00Z'), s, NOW)).toMatch(/stamps samples up to 2026-12-05T21:00:00\.000Z, after the wall clock/);
    expect(() => scenarioStart('yesterday', s, NOW)).toThrow(/--start: not "now"/);
    expect(() => scenarioStart('file', parseScenario(base), NOW)).toThrow(/--start/);
  });
});

describe('ground truth', () => {
  it('two cuts isolate the arc between them; one cut nothing', () => {
    expect(isolatedIslands(DEFAULT_RING_TOPOLOGY, new Set(['toshima-niijima']))).toEqual([]);
    expect(isolatedIslands(DEFAULT_RING_TOPOLOGY, new Set(['toshima-niijima', 'kozushima-mikurajima']))).toEqual(['niijima', 'shikinejima', 'kozushima']);
  });

  it('scores by key, raise and clear within the tolerance', () => {
    const truth = { scoredRules: ['mains-lost'], toleranceMs: 1000, alerts: [{ rule: 'mains-lost', deviceId: 'a', object: null, raisedAt: 0, clearedAt: null }] };
    expect(scoreAlerts(truth, [{ rule: 'mains-lost', deviceId: 'a', object: null, raisedAt: 900, clearedAt: null }, { rule: 'time-to-dark', deviceId: 'a', object: null, raisedAt: 0, clearedAt: null }])).toMatchObject({ precision: 1, recall: 1 });
    const late = scoreAlerts(truth, [{ rule: 'mains-lost', deviceId: 'a', object: null, raisedAt: 5000, clearedAt: null }]);
    expect(late).toMatchObject({ precision: 0, recall: 0, truePositives: 0 });
  });
});

describe('bs-power generator', () => {
  const H = 3_600_000;
  const run = (opts: object) => {
    const m = new BsPowerModel({ seed: 3, sampleSec: 300, battery: 'vrla', capacityAh: 400, generator: true, mainsLostAtTs: H, ...opts });
    const out = [];
    for (let ts = 0; ts <= 20 * H; ts += 300_000) out.push(m.step(ts));
    return out;
  };

  it('starts on mains loss, burns fuel and keeps the battery full', () => {
    const steps = run({});
    expect(steps.flatMap((s) => s.events.map((e) => e.type))).toEqual(['mains_lost', 'generator_start']);
    const last = steps.at(-1)!.sample;
    expect(last).toMatchObject({ mains: 'off', generator: 'running', batterySocPct: 100 });
    expect(last.fuelPct!).toBeLessThan(steps[0]!.sample.fuelPct! - 40);
  });

  it('fails at the scheduled time; the battery then carries the load until the low-voltage disconnect darks the site', () => {
    const steps = run({ generatorFailsAtTs: 3 * H });
    const events = steps.flatMap((s) => s.events);
    expect(events.map((e) => e.type)).toEqual(['mains_lost', 'generator_start', 'generator_fault', 'battery_low', 'backhaul_down']);
    expect(events.find((e) => e.type === 'generator_fault')!.ts).toBe(3 * H);
    expect(steps.at(-1)!.sample).toMatchObject({ generator: 'fault', backhaul: 'down' });
  });

  it('fails to start when the failure is due before the mains loss', () => {
    const events = run({ generatorFailsAtTs: 0 }).flatMap((s) => s.events);
    expect(events[2]).toMatchObject({ type: 'generator_fault', detail: { reason: 'failed to start' } });
  });
});

describe('true minutes to dark', () => {
  /** The models stepped as the runner steps them (every minute), their events recorded, no MQTT. */
  function simulate(scenario: ReturnType<typeof parseScenario>, t0: number) {
    const compiled = compileScenario(scenario, t0);
    const models = compiled.devices.map((d) => ({ d, m: createModel(d, 1) }));
    const events: RecordedEvent[] = [];
    for (let ts = compiled.runFrom; ts <= compiled.endTs; ts += 60_000) {
      for (const { d, m } of models) for (const e of m.step(ts).events) events.push({ deviceId: d.id, type: e.type, ts: e.ts, published: true, ...(e.detail ? { detail: e.detail } : {}) });
    }
    return groundTruth(compiled, 1, events, 60_000);
  }
  const site = { id: 'bsp-a', site: 'a', district: 'shinjuku', battery: 'vrla', capacityAh: 200 };

  it('for a site that goes dark, is the time to its real disconnect at every reading', () => {
    const truth = simulate(parseScenario({ name: 'dark', duration: '12h', sites: [site], timeline: [{ at: '1h', action: 'grid-lost', districts: ['shinjuku'] }] }), 0);
    const [d] = truth.discharges;
    expect(d?.darkAt).not.toBeNull();
    expect(truth.sitesDark.map((x) => x.from)).toEqual([d!.darkAt]);
    expect(d!.readings.length).toBeGreaterThan(30);
    for (const [ts, minutes] of d!.readings) expect(minutes).toBeCloseTo((d!.darkAt! - ts) / 60_000, 0);
  });

  it('for a site whose mains comes back first, is the time the same plant would have run on battery', () => {
    const truth = simulate(parseScenario({ name: 'back', duration: '12h', sites: [site], timeline: [{ at: '1h', action: 'grid-lost', districts: ['shinjuku'] }, { at: '2h', action: 'grid-restored', districts: ['shinjuku'] }] }), 0);
    const [d] = truth.discharges;
    expect(d).toMatchObject({ darkAt: null, to: 2 * 3_600_000 });
    const counterfactualDark = d!.counterfactual[0]!.darkAt!;
    expect(counterfactualDark).toBeGreaterThan(2 * 3_600_000);
    expect(trueMinutesLeft(truth, 'bsp-a', 90 * 60_000)).toBeCloseTo((counterfactualDark - 90 * 60_000) / 60_000, 6);
    expect(trueMinutesLeft(truth, 'bsp-a', 3 * 3_600_000)).toBeNull();
  });
});
