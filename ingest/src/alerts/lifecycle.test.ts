import { describe, expect, it } from 'vitest';
import { createCorrelation } from './correlation.js';
import { AlertLifecycle, FLOOD_RULE, type LifecycleEvent, type RuleTiming } from './lifecycle.js';
import type { Condition, Severity } from './types.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);
const S = 1000;

/** The lifecycle, with value-only (lazy) updates left out of what the tests compare. */
function lifecycle(timing: Partial<RuleTiming> = {}) {
  const lc = createLifecycle(timing);
  const report = lc.report.bind(lc);
  lc.report = (c, now) => report(c, now).filter((e) => !e.lazy);
  return lc;
}

function createLifecycle(timing: Partial<RuleTiming>, attributes: Record<string, Record<string, string>> = {}) {
  return new AlertLifecycle({
    timing: () => ({ enabled: true, group: 'field', onDelayMs: 0, offDelayMs: 0, ...timing }),
    correlation: createCorrelation({ ringName: 'izu-ring', segmentsAt: (island) => (island === 'niijima' ? ['toshima-niijima', 'niijima-shikinejima'] : []), attributes: (id) => attributes[id] ?? {} }),
    chatterTransitions: 3,
    chatterWindowMs: 60 * S,
    floodAlerts: 10,
    floodWindowMs: 600 * S,
    floodPassSeverities: ['critical'],
  });
}

const cond = (active: boolean, severity: Severity = 'minor', deviceId = 'pole-1', rule = 'pole-door-open'): Condition => ({
  deviceId, rule, object: null, active, severity, message: `door ${active ? 'open' : 'closed'}`, deviceType: 'smart-pole',
});
const kinds = (events: LifecycleEvent[]) => events.map((e) => e.kind);

describe('alert lifecycle', () => {
  it('raises, updates on escalation (needing a new ack), and clears', () => {
    const lc = lifecycle();
    const [raised] = lc.report(cond(true), T0);
    expect(raised).toMatchObject({ kind: 'raised', notify: true, alert: { state: 'active', severity: 'minor' } });
    const id = raised!.alert.id;
    lc.acknowledge(lc.find(id)!, 'ops', 'on my way', T0 + S);
    expect(lc.find(id)).toMatchObject({ acknowledged: true, ackedBy: 'ops', comments: [{ by: 'ops', text: 'on my way' }] });
    expect(kinds(lc.report(cond(true, 'major'), T0 + 2 * S))).toEqual(['escalated']);
    expect(lc.find(id)!.acknowledged).toBe(false);
    expect(kinds(lc.report(cond(true, 'major'), T0 + 3 * S))).toEqual([]);
    expect(kinds(lc.report(cond(false), T0 + 4 * S))).toEqual(['cleared']);
    expect(lc.find(id)).toMatchObject({ state: 'cleared', clearedAt: T0 + 4 * S });
  });

  it('on-delay ignores a short spike; off-delay holds the alert through a short dip', () => {
    const lc = lifecycle({ onDelayMs: 30 * S, offDelayMs: 20 * S });
    expect(lc.report(cond(true), T0)).toEqual([]);
    expect(lc.report(cond(false), T0 + 10 * S)).toEqual([]);
    expect(lc.tick(T0 + 60 * S)).toEqual([]);
    lc.report(cond(true), T0 + 100 * S);
    expect(kinds(lc.tick(T0 + 131 * S))).toEqual(['raised']);
    expect(lc.report(cond(false), T0 + 140 * S)).toEqual([]);
    expect(lc.report(cond(true), T0 + 150 * S)).toEqual([]);
    lc.report(cond(false), T0 + 200 * S);
    expect(lc.tick(T0 + 210 * S)).toEqual([]);
    expect(kinds(lc.tick(T0 + 221 * S))).toEqual(['cleared']);
  });

  it('a chattering input makes one alert, marked chattering, which clears only once quiet', () => {
    const lc = lifecycle();
    const events: LifecycleEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(...lc.report(cond(i % 2 === 0), T0 + i * 500));
    const ids = new Set(events.map((e) => e.alert.id));
    expect(ids.size).toBe(1);
    const alert = events.at(-1)!.alert;
    expect(alert).toMatchObject({ state: 'active', chattering: true });
    expect(events.filter((e) => e.kind === 'raised')).toHaveLength(2); // the first raise, and one reopen
    expect(lc.tick(T0 + 30 * S)).toEqual([]);
    expect(kinds(lc.tick(T0 + 15 * S + 61 * S))).toEqual(['cleared']);
  });

  it('shelved alerts are kept but not notified; one-shot shelving ends at the clear, timed at its time', () => {
    const lc = lifecycle();
    const [r] = lc.report(cond(true, 'minor', 'a'), T0);
    lc.shelve(lc.find(r!.alert.id)!, 'one-shot', null, 'ops', T0 + S);
    const [cleared] = lc.report(cond(false, 'minor', 'a'), T0 + 2 * S);
    expect(cleared).toMatchObject({ kind: 'cleared', notify: false, alert: { shelved: null } });
    const [r2] = lc.report(cond(true, 'minor', 'b'), T0);
    lc.shelve(lc.find(r2!.alert.id)!, 'timed', T0 + 60 * S, 'ops', T0 + S);
    expect(lc.report(cond(true, 'major', 'b'), T0 + 2 * S)[0]).toMatchObject({ kind: 'escalated', notify: false });
    expect(lc.tick(T0 + 61 * S).map((e) => [e.kind, e.notify])).toEqual([['unshelved', true]]);
    // Shelved until a time, cleared, and reopened within the chatter window: that time still ends it.
    const [r3] = lc.report(cond(true, 'minor', 'c'), T0 + 100 * S);
    lc.shelve(lc.find(r3!.alert.id)!, 'timed', T0 + 200 * S, 'ops', T0 + 101 * S);
    expect(kinds(lc.report(cond(false, 'minor', 'c'), T0 + 102 * S))).toEqual(['cleared']);
    expect(lc.tick(T0 + 103 * S)).toEqual([]);
    expect(lc.report(cond(true, 'minor', 'c'), T0 + 104 * S).map((e) => [e.kind, e.alert.id, e.notify])).toEqual([['raised', r3!.alert.id, false]]);
    expect(lc.tick(T0 + 199 * S)).toEqual([]);
    expect(lc.tick(T0 + 200 * S).map((e) => [e.kind, e.alert.id])).toEqual([['unshelved', r3!.alert.id]]);
    // Restored after a restart, shelved until a time: that time ends it too.
    const restored = lifecycle();
    restored.restore([{ ...lc.find(r3!.alert.id)!, shelved: { mode: 'timed', until: T0 + 300 * S, at: T0 + 201 * S, by: 'ops' } }], T0 + 250 * S);
    expect(restored.tick(T0 + 299 * S)).toEqual([]);
    expect(restored.tick(T0 + 300 * S).map((e) => [e.kind, e.alert.id])).toEqual([['unshelved', r3!.alert.id]]);
  });

  it('summarises a flood: from the 10th alert in 10 min one summary instead of each alert; critical still passes', () => {
    const lc = lifecycle();
    const events: LifecycleEvent[] = [];
    for (let i = 0; i < 25; i++) events.push(...lc.report(cond(true, 'minor', `pole-${i}`), T0 + i * S));
    events.push(...lc.report(cond(true, 'critical', 'pole-99'), T0 + 30 * S));
    const notified = events.filter((e) => e.notify);
    expect(notified.filter((e) => e.alert.rule !== FLOOD_RULE && e.kind === 'raised')).toHaveLength(10); // 9 minor + the critical
    const summary = notified.filter((e) => e.alert.rule === FLOOD_RULE);
    expect(summary.map((e) => [e.kind, e.alert.value])).toEqual([['raised', 10], ['updated', 20]]);
    expect(lc.openAlerts().filter((a) => a.flooded)).toHaveLength(16);
    expect(kinds(lc.tick(T0 + 700 * S)).filter((k) => k === 'cleared')).toHaveLength(1);
  });

  it('restores open alerts so a later clear closes them', () => {
    const lc = lifecycle();
    const [r] = lc.report(cond(true), T0);
    const restarted = lifecycle();
    restarted.restore([structuredClone(r!.alert)], T0 + S);
    expect(restarted.conditionSeverity('pole-1', 'pole-door-open')).toBe('minor');
    expect(restarted.report(cond(false), T0 + 2 * S)[0]).toMatchObject({ kind: 'cleared', alert: { id: r!.alert.id } });
  });

  it('during a flood, a later escalation to major or critical is announced, and so is the clear of what was announced', () => {
    const lc = lifecycle();
    const events: LifecycleEvent[] = [];
    for (let i = 0; i < 12; i++) events.push(...lc.report(cond(true, 'warning', `bsp-${i}`, 'time-to-dark'), T0 + i * S));
    const flooded = lc.openAlerts().find((a) => a.deviceId === 'bsp-11')!;
    expect(flooded).toMatchObject({ flooded: true, announced: false });
    // The typhoon: the one site that goes critical later must be announced, flood or not.
    expect(lc.report(cond(true, 'critical', 'bsp-11', 'time-to-dark'), T0 + 60 * S).map((e) => [e.kind, e.notify])).toEqual([['escalated', true]]);
    expect(lc.report(cond(true, 'major', 'bsp-10', 'time-to-dark'), T0 + 61 * S).map((e) => [e.kind, e.notify])).toEqual([['escalated', true]]);
    // Its clear is announced too (it was heard of); a flooded one never announced clears quietly.
    expect(lc.report(cond(false, 'critical', 'bsp-11', 'time-to-dark'), T0 + 120 * S).map((e) => [e.kind, e.notify])).toEqual([['cleared', true]]);
    expect(lc.report(cond(false, 'warning', 'bsp-9', 'time-to-dark'), T0 + 121 * S).map((e) => [e.kind, e.notify])).toEqual([['cleared', false]]);
    // A new major raise during the flood passes too.
    expect(lc.report(cond(true, 'major', 'bsp-20', 'mains-lost'), T0 + 122 * S)[0]).toMatchObject({ kind: 'raised', notify: true });
  });

  it('groups symptoms under their root cause, announces the cause once, and the symptoms on their own once it clears', () => {
    const lc = createLifecycle({}, { 'bsp-niijima': { island: 'niijima', district: 'niijima' }, 'ring-niijima': { island: 'niijima' }, 'bsp-toshima': { island: 'toshima' } });
    const ring = (rule: string, object: string, active: boolean, severity: Severity = 'critical'): Condition => ({ deviceId: 'izu-ring', rule, object, active, severity, message: `${rule} ${object}`, deviceType: 'ring-node' });
    const [cause] = lc.report(ring('ring-island-isolated', 'niijima', true), T0);
    expect(cause).toMatchObject({ kind: 'raised', notify: true });
    const silent = lc.report(cond(true, 'minor', 'ring-niijima', 'device-silent'), T0 + 60 * S);
    expect(silent.map((e) => [e.kind, e.alert.deviceId, e.notify])).toEqual([['raised', 'ring-niijima', false], ['updated', 'izu-ring', true]]);
    expect(silent[0]!.alert).toMatchObject({ causeId: cause!.alert.id, announced: false });
    lc.report(cond(true, 'major', 'bsp-niijima', 'device-offline'), T0 + 61 * S);
    lc.report(cond(true, 'warning', 'bsp-niijima', 'backhaul-satellite'), T0 + 62 * S);
    // A device on another island is no symptom of Niijima's isolation.
    expect(lc.report(cond(true, 'minor', 'bsp-toshima', 'device-silent'), T0 + 63 * S)[0]).toMatchObject({ notify: true, alert: { causeId: null } });
    expect(lc.find(cause!.alert.id)!.symptoms).toBe(3);
    // A symptom that clears while the cause is active was never announced: its clear is not either.
    expect(lc.report(cond(false, 'warning', 'bsp-niijima', 'backhaul-satellite'), T0 + 70 * S).find((e) => e.kind === 'cleared')).toMatchObject({ notify: false });
    expect(lc.find(cause!.alert.id)!.symptoms).toBe(2);
    // The cut is repaired but the two devices stay silent and offline: they are announced on their own now.
    const released = lc.report(ring('ring-island-isolated', 'niijima', false), T0 + 120 * S).filter((e) => !e.lazy);
    expect(released.map((e) => [e.kind, e.alert.deviceId, e.alert.rule, e.notify])).toEqual([
      ['cleared', 'izu-ring', 'ring-island-isolated', true],
      ['raised', 'ring-niijima', 'device-silent', true],
      ['raised', 'bsp-niijima', 'device-offline', true],
    ]);
    expect(lc.openAlerts().filter((a) => a.causeId !== null)).toEqual([]);
  });

  it('a root cause raised after its symptoms adopts them (a district cut noticed at its second site)', () => {
    const lc = createLifecycle({}, { 'bsp-a': { district: 'shinjuku' }, 'bsp-b': { district: 'shinjuku' } });
    const [first] = lc.report(cond(true, 'major', 'bsp-a', 'mains-lost'), T0);
    expect(first).toMatchObject({ notify: true });
    const district: Condition = { deviceId: 'district:shinjuku', rule: 'district-mains-lost', object: null, active: true, severity: 'major', message: 'district power cut', deviceType: 'bs-power' };
    const adopted = lc.report(district, T0 + 60 * S);
    expect(adopted.map((e) => [e.kind, e.alert.deviceId])).toEqual([['raised', 'district:shinjuku'], ['updated', 'bsp-a'], ['updated', 'district:shinjuku']]);
    expect(lc.report(cond(true, 'major', 'bsp-b', 'mains-lost'), T0 + 61 * S)[0]).toMatchObject({ notify: false, alert: { causeId: adopted[0]!.alert.id } });
    expect(lc.openAlerts().find((a) => a.rule === 'district-mains-lost')!.symptoms).toBe(2);
  });
});
