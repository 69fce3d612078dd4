import { afterEach, describe, expect, it } from 'vitest';
import { DuckDbDatabase } from './database.js';
import { DuckDbAlertStore } from './alert-store.js';
import type { Alert } from '../../alerts/types.js';
import { AlertLifecycle } from '../../alerts/lifecycle.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

function alert(i: number, over: Partial<Alert> = {}): Alert {
  const odd = i % 2 === 1;
  return {
    id: `a-${String(i).padStart(4, '0')}`, deviceId: `bs-${i}`, rule: 'mains-lost', object: odd ? `seg-${i}` : null, deviceType: odd ? 'bs-power' : null,
    group: 'field', severity: 'major', state: odd ? 'cleared' : 'active', message: `mains lost at bs-${i}`, value: odd ? i / 4 : null,
    detail: { i, nested: { ok: true } }, raisedAt: T0 + i, updatedAt: T0 + i + 1, clearedAt: odd ? T0 + i + 2 : null,
    acknowledged: odd, ackedAt: odd ? T0 + i + 3 : null, ackedBy: odd ? 'ops-1' : null, comments: odd ? [{ at: T0, by: 'ops-1', text: '現地確認中' }] : [],
    shelved: odd ? { mode: 'timed', until: T0 + 60_000, at: T0, by: 'ops-1' } : null, chattering: odd, transitions: i, flooded: !odd,
    observedAt: odd ? T0 - 9_000_000 + i : null, causeId: odd ? `a-${i - 1}` : null, symptoms: odd ? 0 : i, announced: odd,
    ...over,
  };
}

describe('DuckDbAlertStore.save', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  it.each([1, 2, 200, 450])('stores %i alerts with every field as given, and replaces them on the next save', async (count) => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const alerts = Array.from({ length: count }, (_, i) => alert(i));
    await store.save(alerts);
    const all = async () => (await store.list({ state: 'all', limit: 1000 })).sort((a, b) => a.id.localeCompare(b.id));
    expect(await all()).toEqual(alerts);
    const changed = alerts.map((a) => ({ ...a, state: 'cleared' as const, transitions: a.transitions + 1 }));
    await store.save(changed);
    expect(await all()).toEqual(changed);
  });

  it('a large save that both changes stored alerts and adds new ones (the staging path) leaves each as last given', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    await store.save(Array.from({ length: 250 }, (_, i) => alert(i)));
    const next = Array.from({ length: 450 }, (_, i) => alert(i, i < 250 ? { message: `changed ${i}`, value: null, shelved: null, comments: [] } : {}));
    await store.save(next);
    await store.save(next.slice(0, 300)); // again, nothing new: a second staging in the same connection
    expect((await store.list({ state: 'all', limit: 1000 })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(next);
  });

  it('keeps the last of two changes to one alert given in the same save', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    await store.save([alert(0), alert(0, { severity: 'critical' }), alert(2)]);
    expect((await store.get('a-0000'))?.severity).toBe('critical');
    expect((await store.list({ state: 'all', limit: 10 })).length).toBe(2);
  });
});

describe('DuckDbAlertStore.loadOpen', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  it('gives the open alerts as saved, alerts that say the same sharing one text, and a lifecycle can go on changing them', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const given = Array.from({ length: 6 }, (_, i) => alert(i, i < 4 ? { message: 'silent for 2 h (expected a message every 900 s; limit 3 ×)', detail: {}, comments: [] } : {}));
    // Open ones with every field set (acknowledged, shelved, commented, of a type, caused) and of other kinds.
    given.push(alert(7, { state: 'active', clearedAt: null }), alert(9, { state: 'active', clearedAt: null, rule: 'device-silent', severity: 'minor', group: 'water', deviceType: 'water-meter' }));
    await store.save(given);
    const open = await store.loadOpen();
    expect(open.sort((a, b) => a.id.localeCompare(b.id))).toEqual(given.filter((a) => a.state === 'active'));
    const [a0, a2] = open;
    expect(a0!.message).toBe(a2!.message);
    // The engine's changes replace an alert's detail and comments; saved again, they read back as changed.
    const lifecycle = new AlertLifecycle({ timing: () => ({ enabled: true, group: 'field', onDelayMs: 0, offDelayMs: 0 }), chatterTransitions: 3, chatterWindowMs: 60_000, floodAlerts: 100, floodWindowMs: 600_000, floodPassSeverities: [] });
    lifecycle.restore(open, T0 + 10);
    lifecycle.comment(a0!, 'ops-1', 'on site', T0 + 20);
    lifecycle.report({ deviceId: a2!.deviceId, rule: a2!.rule, object: a2!.object, active: true, severity: 'major', message: 'still', deviceType: a2!.deviceType, detail: { k: 1 } }, T0 + 30);
    await store.save([a0!, a2!]);
    expect((await store.get(a0!.id))!.comments).toEqual([{ at: T0 + 20, by: 'ops-1', text: 'on site' }]);
    expect((await store.get(a2!.id))!.detail).toEqual({ k: 1 });
    expect((await store.get(given[4]!.id))!.detail).toEqual({ i: 4, nested: { ok: true } });
  });
});
