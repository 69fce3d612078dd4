import { describe, expect, it } from 'vitest';
import { basePowerPlants, cityFleet, izuRingNodes, nishiShinjukuPoles, waterDistrict } from './city-fleet.js';
import { createModel } from './create-model.js';
import { expectAllValid, HOUR, jstHourOf, mean, run, SUMMER_MIDNIGHT_JST } from './model-test-helpers.js';
import { WaterMeterModel } from './water-meter.js';

const T0 = SUMMER_MIDNIGHT_JST;

describe('city fleets', () => {
  it('29 Nishi-Shinjuku poles (9 trial, 10 signage, 10 pole-type) around 35.690, 139.692', () => {
    const poles = nishiShinjukuPoles();
    expect(poles).toHaveLength(29);
    expect(poles.filter((p) => p.attributes['trial'] === true)).toHaveLength(9);
    expect(poles.filter((p) => p.attributes['poleType'] === 'signage')).toHaveLength(10);
    for (const p of poles) {
      expect(Math.abs(p.location!.lat - 35.69)).toBeLessThan(0.01);
      expect(Math.abs(p.location!.lon - 139.692)).toBeLessThan(0.01);
    }
  });

  it('every device of the city fleet has a unique id and publishes contract-valid samples', () => {
    const fleet = cityFleet({ startTs: T0, metersPerDma: 40 });
    expect(new Set(fleet.map((d) => d.id)).size).toBe(fleet.length);
    // 2 DMAs of 40 customer meters, each with its inlet meter.
    expect(fleet.length).toBe(29 + 80 + 2 + basePowerPlants().length + izuRingNodes().length);
    expect(fleet.filter((d) => d.attributes['site'] === 'dma-inlet').map((d) => d.attributes['dma'])).toEqual(['shinjuku-n1', 'shinjuku-n2']);
    for (const spec of fleet.filter((_, i) => i % 5 === 0)) expectAllValid(spec.type, spec.id, run(createModel(spec, 1), T0, 2, spec.sampleSec));
  });

  it('a DMA holds residents living alone, vacant homes, leaks and one each of burst, backflow, tamper and dead battery', () => {
    const dma = waterDistrict({ dma: 'x', meters: 200, lat: 35.69, lon: 139.69, startTs: T0 });
    const sims = dma.map((d) => (d.type === 'water-meter' ? (d.simulation ?? {}) : {}));
    expect(sims.filter((s) => s.residents === 1).length).toBeGreaterThan(30);
    expect(sims.filter((s) => s.vacantFromTs !== undefined).length).toBeGreaterThan(5);
    expect(sims.filter((s) => s.leak).length).toBeGreaterThan(0);
    for (const key of ['burst', 'backflow', 'tamperAtTs', 'batteryDeadAtTs'] as const) expect(sims.filter((s) => s[key] !== undefined)).toHaveLength(1);
    expect(dma.some((d) => d.attributes['welfareWatch'] === true)).toBe(true);
  });
});

describe('water meter faults', () => {
  const meter = (extra: object) => new WaterMeterModel({ seed: 4, sampleSec: 900, residents: 2, ...extra });

  it('burst: the meter raises its burst alarm after 30 min above 30 % of Q3 (750 L/h), and clears when repaired', () => {
    const steps = run(meter({ burst: { lph: 800, fromTs: T0 + 10 * HOUR, toTs: T0 + 14 * HOUR } }), T0, 20, 900);
    expectAllValid('water-meter', 'wm', steps);
    const burst = steps.flatMap((s) => s.events).filter((e) => e.type === 'burst');
    expect(burst).toHaveLength(1);
    expect(burst[0]!.ts).toBe(T0 + 10.5 * HOUR);
    expect(steps.filter((s) => s.sample.alarms?.includes('burst')).map((s) => s.ts).at(-1)).toBeLessThanOrEqual(T0 + 14 * HOUR);
  });

  it('backflow turns the register back once, tamper latches, a dead battery falls silent', () => {
    const steps = run(meter({ backflow: { atTs: T0 + 3 * HOUR, litres: 30 }, tamperAtTs: T0 + 5 * HOUR, batteryDeadAtTs: T0 + 10 * HOUR }), T0, 12, 900);
    expectAllValid('water-meter', 'wm', steps);
    const back = steps.findIndex((s) => s.sample.alarms?.includes('backflow'));
    expect(steps[back]!.sample.indexL).toBeLessThan(steps[back - 1]!.sample.indexL);
    expect(steps[back]!.sample.flowLph).toBeLessThan(0);
    expect(steps.flatMap((s) => s.events.map((e) => e.type))).toEqual(expect.arrayContaining(['backflow', 'tamper', 'low_battery']));
    expect(steps.filter((s) => s.ts >= T0 + 5 * HOUR).every((s) => s.sample.alarms?.includes('tamper'))).toBe(true);
    expect(steps.filter((s) => s.silent).map((s) => s.ts)[0]).toBe(T0 + 10 * HOUR);
  });

  it('weekends sleep in: the morning peak moves from 6–8 h to 9–11 h', () => {
    // Four households of four, 28 days each: a single household's draws are too few to show a shape.
    const flows = (startTs: number) => {
      const steps = [4, 5, 6, 7].flatMap((seed) => run(new WaterMeterModel({ seed, sampleSec: 900, residents: 4 }), startTs, 24 * 28, 900));
      const at = (hours: number[], weekend: boolean) => mean(steps.filter((s) => hours.includes(jstHourOf(s.ts)) && [0, 6].includes(new Date(s.ts + 9 * HOUR).getUTCDay()) === weekend).map((s) => s.sample.flowLph ?? 0));
      return { weekday7: at([6, 7], false), weekend7: at([6, 7], true), weekday10: at([9, 10], false), weekend10: at([9, 10], true) };
    };
    const f = flows(T0);
    expect(f.weekday7).toBeGreaterThan(1.3 * f.weekend7);
    expect(f.weekend10).toBeGreaterThan(1.2 * f.weekday10);
  });
});
