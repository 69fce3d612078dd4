/**
 * The in-memory last-seen index the silence rules read (last-seen.ts) against its independent truth, the
 * device_status table as a fresh read sees it: the same answer whether the index was loaded before or after
 * the writes, a late message never moves "last seen" back, a stale will changes nothing, a birth brings its
 * sample interval.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbDatabase } from './database.js';
import { DuckDbOperationsStore } from './operations.js';
import { DuckDbOperationsReader } from './operations-reader.js';
import { SCHEMA_DDL } from './schema.js';

const T0 = Date.UTC(2026, 11, 1, 3, 0, 0);

describe('last-seen index', () => {
  let db: DuckDbDatabase;
  let ops: DuckDbOperationsStore;
  beforeEach(async () => {
    db = await DuckDbDatabase.open(':memory:');
    for (const ddl of SCHEMA_DDL) await db.run(ddl);
    ops = new DuckDbOperationsStore(db);
  });
  afterEach(async () => {
    await db.close();
  });

  /** What the table holds, read afresh (a second store on the same database has an empty index). */
  const fromTable = async () => (await ops.listStatus()).map((s) => ({ deviceId: s.deviceId, type: s.type, lastSeen: s.lastSeen, sampleSec: s.sampleSec, online: s.online }));
  const sorted = <T extends { deviceId: string }>(l: readonly T[]) => [...l].sort((a, b) => a.deviceId.localeCompare(b.deviceId));

  it('matches device status whether loaded before or after the writes', async () => {
    await ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0, boot: 1 }]);
    await ops.recordState({ deviceId: 'bs-1', type: 'bs-power', state: { v: 1, id: 'bs-1', state: 'online', boot: 2, ts: T0, fw: '1.2.0', model: 'DCP', sampleSec: 60 }, receivedAt: T0 + 1 });
    expect(sorted(await ops.listLastSeen())).toEqual(sorted(await fromTable()));
    expect(sorted(await ops.listLastSeen())).toEqual([
      { deviceId: 'bs-1', type: 'bs-power', lastSeen: T0 + 1, sampleSec: 60, online: true },
      { deviceId: 'wm-1', type: 'water-meter', lastSeen: T0, sampleSec: null, online: false },
    ]);
    // After loading: a newer message, a late one (replayed from a buffer), a new device, a stale will, a death.
    await ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0 + 900_000, boot: 1 }, { deviceId: 'wm-2', type: 'water-meter', seenAt: T0 + 5, boot: 1 }]);
    await ops.touchDevice('wm-1', 'water-meter', T0 + 60_000, 1);
    await ops.recordState({ deviceId: 'bs-1', type: 'bs-power', state: { v: 1, id: 'bs-1', state: 'offline', boot: 1 }, receivedAt: T0 + 2_000 });
    expect(sorted(await ops.listLastSeen())).toEqual(sorted(await fromTable()));
    // A device whose every reading was refused for its clock: a status, never heard (a bs-power site so counts as silent).
    await ops.recordClockSkews([{ deviceId: 'bs-9', type: 'bs-power', clockSkewMs: 3_600_000 }, { deviceId: 'wm-1', type: 'water-meter', clockSkewMs: 5 }]);
    await ops.recordState({ deviceId: 'bs-1', type: 'bs-power', state: { v: 1, id: 'bs-1', state: 'offline', boot: 2 }, receivedAt: T0 + 3_000 });
    const now = sorted(await ops.listLastSeen());
    expect(now).toEqual(sorted(await fromTable()));
    expect(now).toEqual([
      { deviceId: 'bs-1', type: 'bs-power', lastSeen: T0 + 3_000, sampleSec: 60, online: false },
      { deviceId: 'bs-9', type: 'bs-power', lastSeen: null, sampleSec: null, online: false },
      { deviceId: 'wm-1', type: 'water-meter', lastSeen: T0 + 900_000, sampleSec: null, online: false },
      { deviceId: 'wm-2', type: 'water-meter', lastSeen: T0 + 5, sampleSec: null, online: false },
    ]);
  });

  it('reads device status a page at a time, the same list as one read, whatever the page size', async () => {
    await ops.touchDevices(Array.from({ length: 7 }, (_, i) => ({ deviceId: `wm-${i}`, type: 'water-meter' as const, seenAt: T0 + i, boot: 1 })));
    const whole = await new DuckDbOperationsReader(db, 1_000).listStatus();
    expect(whole.map((s) => [s.deviceId, s.lastSeen])).toEqual(Array.from({ length: 7 }, (_, i) => [`wm-${i}`, T0 + i]));
    // Pages of 2 (the last one short), of 7 (the last one empty), of 1.
    for (const page of [2, 7, 1]) expect(await new DuckDbOperationsReader(db, page).listStatus()).toEqual(whole);
  });

  it('takes writes made while it was loading', async () => {
    await ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0, boot: 1 }]);
    const [listed] = await Promise.all([ops.listLastSeen(), ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0 + 1_000, boot: 1 }, { deviceId: 'wm-3', type: 'water-meter', seenAt: T0, boot: 1 }])]);
    expect(listed.length).toBeGreaterThanOrEqual(1);
    expect(sorted(await ops.listLastSeen())).toEqual(sorted(await fromTable()));
  });
  it('tells its listeners of each device whose entry changed, as the table then has it, and of nothing else', async () => {
    await ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0, boot: 1 }]);
    await ops.listLastSeen();
    const told: unknown[] = [];
    const stop = ops.onLastSeenChange((d) => told.push(d));
    await ops.touchDevices([{ deviceId: 'wm-1', type: 'water-meter', seenAt: T0 + 900_000, boot: 1 }, { deviceId: 'wm-2', type: 'water-meter', seenAt: T0 + 5, boot: 1 }]);
    await ops.touchDevice('wm-1', 'water-meter', T0 + 60_000, 1); // late: last seen does not move back, nobody is told
    await ops.recordState({ deviceId: 'bs-1', type: 'bs-power', state: { v: 1, id: 'bs-1', state: 'online', boot: 2, ts: T0, fw: '1.2.0', model: 'DCP', sampleSec: 60 }, receivedAt: T0 + 1 });
    expect(told).toEqual([
      { deviceId: 'wm-1', type: 'water-meter', lastSeen: T0 + 900_000, sampleSec: null, online: false },
      { deviceId: 'wm-2', type: 'water-meter', lastSeen: T0 + 5, sampleSec: null, online: false },
      { deviceId: 'bs-1', type: 'bs-power', lastSeen: T0 + 1, sampleSec: 60, online: true },
    ]);
    expect(sorted(told as Array<{ deviceId: string }>)).toEqual(sorted(await fromTable()));
    stop();
    await ops.touchDevices([{ deviceId: 'wm-2', type: 'water-meter', seenAt: T0 + 999_000, boot: 1 }]);
    expect(told).toHaveLength(3);
  });
});
