/**
 * The clock judging only the devices changed or due (due-devices.ts) against its independent truth, the
 * engine judging every device at every evaluation, as it did before: the same alerts, raised and cleared at
 * the same moments, with the same words, through messages, silences, deaths, new intervals, enrolments in
 * the welfare watch and jumps of the clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic, parseTopic, validatePayload, type DeviceType } from '@tsunagaru/firmware-contracts';
import { DuckDbDatabase } from '../storage/duckdb/database.js';
import { DuckDbAlertStore } from '../storage/duckdb/alert-store.js';
import { AlertEngine } from './engine.js';
import { DueDevices } from './due-devices.js';
import { parseAlertRules } from './rules-config.js';
import type { LastSeen } from './rules/device-status.js';
import type { Alert } from './types.js';
// The simulators' seeded generator (a pure function; the simulators package depends on this one, not back).
import { mulberry32 } from '../../../simulators/src/rng.js';

const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

/** A water meter's reading as the dispatcher hands it to the engine. */
function meterMessage(id: string, seq: number, ts: number) {
  const t = parseTopic(buildTopic('water-meter', id, 'telemetry'));
  if (!t.ok) throw new Error(t.reason);
  const v = validatePayload(t.topic, { v: 1, id, boot: 1, seq, ts, samples: [{ ts, indexL: 1000 + seq, flowLph: 0, batteryPct: 80, alarms: [] }] });
  if (!v.ok) throw new Error(v.reason);
  return { message: v.message };
}

describe('the clock judges the changed and the due devices', () => {
  const dbs: DuckDbDatabase[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
  });

  it('raises, updates and clears exactly what judging every device at every evaluation does', async () => {
    const rng = mulberry32(20261206); // seeded: a failure replays exactly
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const devices: Array<{ id: string; type: DeviceType }> = [];
    for (let i = 0; i < 30; i++) devices.push({ id: `wm-${i}`, type: 'water-meter' });
    for (let i = 0; i < 6; i++) devices.push({ id: `bs-${i}`, type: 'bs-power' });
    for (let i = 0; i < 4; i++) devices.push({ id: `sp-${i}`, type: 'smart-pole' });
    for (const [i, d] of devices.entries()) {
      const welfare = d.type === 'water-meter' && i % 3 === 0;
      await registry.provision({ id: d.id, type: d.type, secret: null, attributes: welfare ? { welfareWatch: true, welfareSilentHours: 1 + (i % 7) } : {} });
    }
    let now = T0;
    const last = new Map<string, LastSeen>();
    const intervals = [60, 300, 900, 3600, null];
    for (const [i, d] of devices.entries()) last.set(d.id, { deviceId: d.id, type: d.type, lastSeen: T0 - (i % 5) * 20 * MIN, sampleSec: intervals[i % 5]!, online: i % 4 !== 0 });
    const listeners: Array<(d: LastSeen) => void> = [];
    const set = (d: LastSeen) => {
      last.set(d.deviceId, d);
      for (const l of listeners) l(d);
    };
    const open = async (withChanges: boolean) => {
      const db = await DuckDbDatabase.open(':memory:');
      dbs.push(db);
      const list = async () => [...last.values()];
      // The reference cannot say what changed, so it judges every device at every evaluation.
      const lastSeen = withChanges ? { list, onChange: (l: (d: LastSeen) => void) => (listeners.push(l), () => undefined) } : { list };
      return AlertEngine.open({ config: parseAlertRules({}), store: await DuckDbAlertStore.open(db), lastSeen, devices: registry, clock: () => now });
    };
    const every = await open(false);
    const due = await open(true);
    const says = (a: Alert) => `${a.deviceId} ${a.rule} ${a.state} raised ${a.raisedAt - T0} cleared ${a.clearedAt === null ? '-' : a.clearedAt - T0} ${a.severity} ${a.value} ${a.message}`;
    const alerts = async (engine: AlertEngine) => (await engine.list({ state: 'all', limit: 10_000 })).map(says).sort();
    const openNow = (engine: AlertEngine) => engine.lifecycle.openAlerts().map(says).sort();

    const steps = [5_000, 5_000, 5_000, 5_000, 65_000, 15 * MIN, 67 * MIN, 6 * HOUR + 7_000];
    let seq = 0;
    for (let step = 0; step < 300; step++) {
      now += steps[Math.floor(rng() * steps.length)]!;
      for (let n = Math.floor(rng() * 4); n > 0; n--) {
        const d = devices[Math.floor(rng() * devices.length)]!;
        const was = last.get(d.id)!;
        const what = rng();
        if (what < 0.5) {
          // Heard: its reading reaches the rules, and its last seen moves on once stored (not always: a save that failed).
          if (d.type === 'water-meter') for (const engine of [every, due]) engine.onAccepted(meterMessage(d.id, ++seq, now));
          if (what < 0.45) set({ ...was, lastSeen: now });
        } else if (what < 0.7) set({ ...was, online: !was.online, lastSeen: now });
        else if (what < 0.8) set({ ...was, sampleSec: intervals[Math.floor(rng() * intervals.length)]!, lastSeen: now });
        else if (d.type === 'water-meter') {
          const enrolled = registry.getDevice(d.id)?.attributes.welfareWatch === true;
          await registry.patchDevice(d.id, rng() < 0.5 ? (enrolled ? { unset: ['welfareWatch'] } : { set: { welfareWatch: true } }) : { set: { welfareSilentHours: 1 + Math.floor(rng() * 30) } });
        }
      }
      await every.tick();
      await due.tick();
      expect(openNow(due), `after step ${step}`).toEqual(openNow(every));
    }
    // Every alert of the run, cleared ones included, raised and cleared at the same moments.
    expect(await alerts(due)).toEqual(await alerts(every));
    // The run went through what it is about: silences raised, moved on and cleared, welfare concerns too.
    const seen = await alerts(every);
    console.log(['device-silent', 'welfare-silent'].map((r) => ['active', 'cleared'].map((st) => `${r} ${st} ${seen.filter((a) => a.includes(` ${r} ${st} `)).length}`)).join(' '));
    const count = (rule: string, state: string) => seen.filter((a) => a.includes(` ${rule} ${state} `)).length;
    expect(count('device-silent', 'cleared')).toBeGreaterThan(10);
    expect(count('device-silent', 'active')).toBeGreaterThan(3);
    expect(count('welfare-silent', 'cleared')).toBeGreaterThan(3);
    await every.close();
    await due.close();
    await registry.close();
  });

  it('hands an evaluation only the devices heard since the last and those whose time has come', async () => {
    const listeners: Array<(d: LastSeen) => void> = [];
    const meter = (id: string, lastSeen: number): LastSeen => ({ deviceId: id, type: 'water-meter', lastSeen, sampleSec: 900, online: true });
    const all = [meter('wm-1', T0), meter('wm-2', T0), meter('wm-3', T0)];
    let registryListener: (id: string | null) => void = () => undefined;
    const due = new DueDevices({ list: async () => all, onChange: (l) => (listeners.push(l), () => undefined) }, { onChange: (l) => ((registryListener = l), () => undefined) });
    const ids = (j: { devices: readonly LastSeen[] }) => j.devices.map((d) => d.deviceId).sort();

    const first = await due.take(T0);
    expect([first.everything, ids(first)]).toEqual([true, ['wm-1', 'wm-2', 'wm-3']]);
    due.wake('wm-1', T0 + 45 * MIN);
    due.wake('wm-2', T0 + 10 * MIN);
    due.wake('wm-2', T0 + 20 * MIN); // later than already asked: the earlier stands
    expect(ids(await due.take(T0 + 5 * MIN))).toEqual([]);
    // wm-3 heard; wm-2's time comes.
    for (const l of listeners) l(meter('wm-3', T0 + 9 * MIN));
    const second = await due.take(T0 + 10 * MIN);
    expect([second.everything, ids(second)]).toEqual([false, ['wm-2', 'wm-3']]);
    expect(second.heard('wm-3')?.lastSeen).toBe(T0 + 9 * MIN);
    // Judged, wm-2 dropped its wake; wm-1's still stands. A registry change of wm-2 has it judged.
    registryListener('wm-2');
    expect(ids(await due.take(T0 + 11 * MIN))).toEqual(['wm-2']);
    expect(ids(await due.take(T0 + 45 * MIN))).toEqual(['wm-1']);
    expect(due.waiting).toBe(0);
    // A message reaching the rules has its device judged even when its status did not change.
    due.touch('wm-1');
    expect(ids(await due.take(T0 + 46 * MIN))).toEqual(['wm-1']);
    // A registry reload: every device again.
    registryListener(null);
    expect(ids(await due.take(T0 + 47 * MIN))).toEqual(['wm-1', 'wm-2', 'wm-3']);
  });
});
