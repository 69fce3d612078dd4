import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic, parseTopic, validatePayload } from '@tsunagaru/firmware-contracts';
import { DuckDbDatabase } from '../storage/duckdb/database.js';
import type { Accepted } from '../dispatch/outcome.js';
import { DuckDbAlertStore } from '../storage/duckdb/alert-store.js';
import { AlertEngine } from './engine.js';
import { parseAlertRules } from './rules-config.js';
import { silenceFigure } from './rules/device-status.js';
import type { Alert, AlertEvent } from './types.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

/** A bs-power telemetry message as the dispatcher hands it to the engine. */
function plantMessage(id: string, seq: number, mains: 'on' | 'off'): Accepted {
  const topicName = buildTopic('bs-power', id, 'telemetry');
  const t = parseTopic(topicName);
  if (!t.ok) throw new Error(t.reason);
  const v = validatePayload(t.topic, { v: 1, id, boot: 1, seq, ts: T0 + seq, samples: [{ ts: T0 + seq, mains }] });
  if (!v.ok || v.message.channel !== 'telemetry') throw new Error(v.ok ? 'not telemetry' : v.reason);
  return { message: v.message, receivedAt: T0 + seq, replayed: false };
}

describe('alert engine saves', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  it('groups the changes that arrive during a slow save into the next one, and tells listeners only after, in order', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    const saves: number[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    // The real store, with the first save held back as a commit stuck behind other work would be.
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      save: async (alerts: readonly Alert[]) => {
        saves.push(alerts.length);
        if (saves.length === 1) await firstHeld;
        await real.save(alerts);
      },
    });
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    for (let i = 0; i < 6; i++) await registry.provision({ id: `bs-${i}`, type: 'bs-power', secret: null });
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 });
    await engine.restored;
    const heard: AlertEvent[] = [];
    engine.subscribe((e) => heard.push(e));

    const send = (i: number) => engine.onAccepted(plantMessage(`bs-${i}`, 0, 'off'));
    send(0);
    // Its save has started, and is held (a wait of fixed length missed it on a loaded machine).
    while (saves.length === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i < 6; i++) {
      send(i);
      await new Promise((r) => setImmediate(r)); // one by one, each evaluated on its own turn
    }
    await new Promise((r) => setTimeout(r, 50));
    // The first alert's save is stuck; the rules went on, but nobody has been told anything yet.
    expect(saves).toEqual([1]);
    expect(heard).toEqual([]);
    releaseFirst();
    await engine.idle();
    expect(saves).toEqual([1, 5]);
    expect(heard.map((e) => `${e.kind} ${e.alert.deviceId}`)).toEqual(Array.from({ length: 6 }, (_, i) => `raised bs-${i}`));
    expect((await real.list({ state: 'active', limit: 100 })).map((a) => a.deviceId).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `bs-${i}`));
    await engine.close();
    await registry.close();
  });

  it('loads the open alerts after open, first in its queue: a message meanwhile is judged against them, lists wait, a failed load is tried again and lists are told so', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    for (let i = 0; i < 2; i++) await registry.provision({ id: `bs-${i}`, type: 'bs-power', secret: null });
    // A first run raises bs-0's mains alert, and stops.
    const first = await AlertEngine.open({ config: parseAlertRules({}), store: real, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 });
    first.onAccepted(plantMessage('bs-0', 0, 'off'));
    await first.idle();
    await first.close();
    const [raised] = await real.list({ state: 'active', limit: 10 });
    expect(raised).toMatchObject({ deviceId: 'bs-0', rule: 'mains-lost' });
    // The next start: the store's first load fails, the second is held until released.
    let loads = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      loadOpen: async () => {
        if (++loads === 1) throw new Error('IO Error: could not read block');
        await held;
        return real.loadOpen();
      },
    });
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 + 60_000 });
    expect(engine.restoreStatus()).toMatchObject({ restoring: true });
    const heard: AlertEvent[] = [];
    engine.subscribe((e) => heard.push(e));
    // bs-0 still off (its alert is open), bs-1 off: queued behind the load.
    engine.onAccepted(plantMessage('bs-0', 1, 'off'));
    engine.onAccepted(plantMessage('bs-1', 1, 'off'));
    // A list asked during the load waits for it, and is told when it fails (not left waiting for the retries).
    const waiting = engine.list({ state: 'active', limit: 10 }).then(() => 'listed', (err: unknown) => err);
    await new Promise((r) => setTimeout(r, 1_300)); // past the retry after the failed load
    expect(loads).toBe(2);
    expect(engine.restoreStatus()).toMatchObject({ restoring: true, failures: 1, error: 'IO Error: could not read block' });
    expect(await waiting).toMatchObject({ code: 'INGEST_ERR_BUSY', status: 503, retryAfterSec: 5, message: expect.stringContaining('the open alerts are not loaded yet: 1 try to read them from the store failed since the start (last: IO Error: could not read block)') });
    await expect(engine.get(raised!.id)).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY' });
    expect(heard).toEqual([]);
    release();
    await engine.restored;
    expect(engine.restoreStatus()).toEqual({ restoring: false });
    const active = await engine.list({ state: 'active', limit: 10 });
    // One alert per site: bs-0's is the one from before (same id), not raised again.
    expect(active.map((a) => a.deviceId).sort()).toEqual(['bs-0', 'bs-1']);
    expect(active.find((a) => a.deviceId === 'bs-0')!.id).toBe(raised!.id);
    expect(heard.map((e) => `${e.kind} ${e.alert.deviceId}`)).toEqual(['raised bs-1']);
    await engine.close();
    await registry.close();
  });

  it('stops without waiting out the pause between failed loads of the open alerts', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    let loads = 0;
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      loadOpen: async () => {
        loads++;
        throw new Error('IO Error: could not read block');
      },
    });
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 });
    while (engine.restoreStatus().failures !== 1) await new Promise((r) => setTimeout(r, 10));
    // The next load is due in 0.5–1 s (backoff); a stop now ends the pause at once and loads nothing more.
    const t0 = performance.now();
    await engine.close();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(loads).toBe(1);
    await registry.close();
  });

  it("judges a plant's mains failure at once while a city's water figures are still being read by the timer's tick, and judges those when they are in", async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'bs-0', type: 'bs-power', secret: null });
    await registry.provision({ id: 'wm-0', type: 'water-meter', secret: null });
    let releaseWater!: () => void;
    const waterHeld = new Promise<void>((r) => (releaseWater = r));
    let reads = 0;
    // The nights of a whole city take tens of seconds to read; this read is held until released.
    const water = {
      gather: async () => {
        reads++;
        await waterHeld;
        return { nights: new Map(), usage: [{ deviceId: 'wm-0', month: '2026-10', litres: 30_000, previousLitres: 10_000, lastYearLitres: null }] };
      },
    };
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0, water });
    const heard: AlertEvent[] = [];
    engine.subscribe((e) => heard.push(e));
    await engine.tick({ waterInBackground: true }); // resolves with the read still going
    await engine.tick({ waterInBackground: true }); // and does not start a second one
    expect(reads).toBe(1);
    engine.onAccepted(plantMessage('bs-0', 0, 'off'));
    await engine.idle();
    expect(heard.map((e) => `${e.kind} ${e.alert.rule} ${e.alert.deviceId}`)).toEqual(['raised mains-lost bs-0']);
    releaseWater();
    await new Promise((r) => setTimeout(r, 20));
    await engine.idle();
    expect(heard.map((e) => `${e.kind} ${e.alert.rule} ${e.alert.deviceId}`)).toEqual(['raised mains-lost bs-0', 'raised water-usage-rise wm-0']);
    await engine.close();
    await registry.close();
  });

  it("remembers across a restart the month whose household use it judged, so the city's month is not read again", async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-0', type: 'water-meter', secret: null });
    const asked: unknown[] = [];
    const usage = [{ deviceId: 'wm-0', month: '2026-10', litres: 30_000, previousLitres: 10_000, lastYearLitres: null }];
    const water = { gather: async (_now: number, known?: unknown) => (asked.push(known), { nights: new Map(), usage }) };
    const open = () => AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0, water });
    const first = await open();
    await first.tick();
    await first.close();
    const again = await open();
    await again.tick();
    await again.close();
    expect(asked).toEqual([{}, { usageMonthJudged: '2026-10' }]);
    await registry.close();
  });

  it('stops without waiting for a water read still going, and never judges it', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const usage = [{ deviceId: 'wm-0', month: '2026-10', litres: 30_000, previousLitres: 10_000, lastYearLitres: null }];
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0, water: { gather: async () => (await held, { nights: new Map(), usage }) } });
    const heard: AlertEvent[] = [];
    engine.subscribe((e) => heard.push(e));
    await engine.tick({ waterInBackground: true });
    await engine.close(); // resolves with the read held
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(heard).toEqual([]);
    expect(await store.list({ state: 'active', limit: 10 })).toEqual([]);
    await registry.close();
  });

  it("goes on raising and saving alerts while a slow write of the rules' state is under way, and retries a failed one", async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    let releaseState!: () => void;
    const stateHeld = new Promise<void>((r) => (releaseState = r));
    const stateWrites: string[][] = [];
    // The real store; the first state write hangs (as 130,000 meters' state did, for seconds), the second fails.
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      saveRuleState: async (entries: ReadonlyArray<readonly [string, unknown]>) => {
        stateWrites.push(entries.map(([scope]) => scope));
        if (stateWrites.length === 1) await stateHeld;
        if (stateWrites.length === 2) throw new Error('disk full');
        await real.saveRuleState(entries);
      },
    });
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'bs-0', type: 'bs-power', secret: null });
    let now = T0;
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => now });
    const heard: AlertEvent[] = [];
    engine.subscribe((e) => heard.push(e));

    engine.state.set('test:a', { n: 1 });
    now += 31_000;
    await engine.tick(); // flushes: the state write starts and hangs
    expect(stateWrites).toEqual([['test:a']]);
    engine.onAccepted(plantMessage('bs-0', 0, 'off'));
    await engine.idle();
    expect(heard.map((e) => `${e.kind} ${e.alert.deviceId}`)).toEqual(['raised bs-0']); // not held up by the state write
    expect((await real.list({ state: 'active', limit: 10 })).map((a) => a.deviceId)).toEqual(['bs-0']);

    engine.state.set('test:b', { n: 2 });
    now += 31_000;
    await engine.tick(); // the second flush waits for the first, then fails
    releaseState();
    // The second write starts once the first is released; under load that can take more than a few ms.
    for (let i = 0; i < 500 && stateWrites.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    // The second write also carries the plant's rule state (bs:bs-0), changed by its message.
    expect(stateWrites.map((w) => w.filter((s) => s.startsWith('test:')))).toEqual([['test:a'], ['test:b']]);
    await engine.close(); // the last flush writes what failed again
    expect(stateWrites[2]).toEqual(stateWrites[1]);
    const saved = await real.loadRuleState();
    expect([saved.get('test:a'), saved.get('test:b')]).toEqual([{ n: 1 }, { n: 2 }]);
    expect(saved.has('bs:bs-0')).toBe(true);
    await registry.close();
  });

  it('evaluates messages that arrive together in one queue item, and a message queued after other work only after it', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    for (let i = 0; i < 4; i++) await registry.provision({ id: `bs-${i}`, type: 'bs-power', secret: null });
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 });
    const heard: string[] = [];
    engine.subscribe((e) => heard.push(`${e.kind} ${e.alert.deviceId}`));
    const send = (i: number, seq: number, mains: 'on' | 'off') => engine.onAccepted(plantMessage(`bs-${i}`, seq, mains));
    const mainsLost = (i: number) => engine.lifecycle.conditionSeverity(`bs-${i}`, 'mains-lost');

    send(0, 0, 'off');
    send(1, 0, 'off');
    // Work queued now runs after bs-0 and bs-1 were evaluated, and before bs-2, sent after it.
    const seenByAct = engine.act(async () => ({ result: [mainsLost(0), mainsLost(1), mainsLost(2)], events: [] }));
    send(2, 0, 'off');
    send(0, 1, 'on');
    expect(await seenByAct).toEqual(['major', 'major', null]);
    await engine.idle();
    expect(heard).toEqual(['raised bs-0', 'raised bs-1', 'raised bs-2', 'cleared bs-0']);
    expect([mainsLost(0), mainsLost(1), mainsLost(2), mainsLost(3)]).toEqual([null, 'major', 'major', null]);
    await engine.close();
    await registry.close();
  });
});

describe('silent devices', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  it('judges a fleet falling silent together a slice at a time, the event loop turning between slices, and raises every alert', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const store = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const n = 5_000;
    // Every meter last heard 3 h ago (limit: 3 × 900 s): all silent at the first evaluation.
    const devices = Array.from({ length: n }, (_, i) => ({ deviceId: `wm-${i}`, type: 'water-meter' as const, lastSeen: T0 - 3 * 3_600_000, sampleSec: 900, online: true }));
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => devices }, devices: registry, clock: () => T0 });
    await engine.restored;
    let reported = 0;
    const report = engine.lifecycle.report.bind(engine.lifecycle);
    engine.lifecycle.report = (c, now) => (c.rule === 'device-silent' && reported++, report(c, now));
    // What the event loop saw at each of its turns while the evaluation ran.
    const seenAtTurns: number[] = [];
    let ticking = true;
    const turn = () => {
      seenAtTurns.push(reported);
      if (ticking) setImmediate(turn);
    };
    setImmediate(turn);
    await engine.tick();
    ticking = false;
    expect(reported).toBe(n);
    // Judged in one piece, the loop would only ever see none or all of them judged.
    expect(seenAtTurns.some((k) => k > 0 && k < n)).toBe(true);
    const silent = await store.list({ state: 'active', rule: 'device-silent', limit: n + 1 });
    expect(silent.length).toBe(n);
    expect(new Set(silent.map((a) => a.deviceId)).size).toBe(n);
    await engine.close();
    await registry.close();
  });

  it('says how long in steps (minutes, quarter hours, hours), rounded down, and when the figure next moves on', () => {
    const min = 60_000;
    expect(silenceFigure(45 * min + 59_999)).toEqual({ seconds: 45 * 60, text: '45 min', nextMs: 46 * min });
    expect(silenceFigure(59 * min)).toEqual({ seconds: 59 * 60, text: '59 min', nextMs: 60 * min });
    expect(silenceFigure(60 * min)).toEqual({ seconds: 3600, text: '1 h', nextMs: 75 * min });
    expect(silenceFigure(9 * 60 * min + 44 * min)).toEqual({ seconds: 9 * 3600 + 30 * 60, text: '9 h 30 min', nextMs: (9 * 60 + 45) * min });
    expect(silenceFigure(24 * 60 * min - 1)).toEqual({ seconds: 23 * 3600 + 45 * 60, text: '23 h 45 min', nextMs: 24 * 60 * min });
    expect(silenceFigure(50 * 60 * min + 59 * min)).toEqual({ seconds: 50 * 3600, text: '2 d 2 h', nextMs: 51 * 60 * min });
    expect(silenceFigure(48 * 60 * min)).toEqual({ seconds: 48 * 3600, text: '2 d', nextMs: 49 * 60 * min });
  });

  it('re-saves a silent device\'s alert only when what it says changes, not at every evaluation', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    const saved: string[] = [];
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      save: async (alerts: readonly Alert[]) => {
        saved.push(...alerts.map((a) => `${a.deviceId} ${a.value}`));
        await real.save(alerts);
      },
    });
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    const meters = ['wm-1', 'wm-2', 'wm-3'];
    for (const id of meters) await registry.provision({ id, type: 'water-meter', secret: null });
    let now = T0;
    // Heard last 9 h 50 min ago, every 15 min expected: silent long since.
    const lastSeen = { list: async () => meters.map((deviceId) => ({ deviceId, type: 'water-meter' as const, lastSeen: T0 - (9 * 60 + 50) * 60_000, sampleSec: 900, online: true })) };
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen, devices: registry, clock: () => now });
    await engine.tick();
    await engine.idle();
    expect(saved.sort()).toEqual(meters.map((id) => `${id} ${9 * 3600 + 45 * 60}`));
    // Two minutes of evaluations every 5 s, flushes included: the alerts say the same, nothing is saved.
    saved.length = 0;
    for (let i = 0; i < 24; i++) {
      now += 5_000;
      await engine.tick();
    }
    await engine.idle();
    expect(saved).toEqual([]);
    // Past 10 h the text moves on: saved once more (lazily, with the next flush), and the API shows it at once.
    now = T0 + 10 * 60_000 + 1;
    await engine.tick();
    expect((await engine.list({ state: 'active', limit: 10 })).map((a) => a.message)).toEqual(meters.map(() => 'silent for 10 h (expected a message every 900 s; limit 3 ×)'));
    now += 31_000;
    await engine.tick();
    await engine.idle();
    expect(saved.sort()).toEqual(meters.map((id) => `${id} ${10 * 3600}`));
    await engine.close();
    await registry.close();
  });
});
