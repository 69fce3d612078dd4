import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { afterEach, expect, it } from 'vitest';
import { DuckDbDatabase } from '../../storage/duckdb/database.js';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.js';
import { AlertEngine } from '../engine.js';
import { parseAlertRules } from '../rules-config.js';
import { INGEST_OBJECT } from './ingest-disk.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);
const MiB = 1024 * 1024;
let db: DuckDbDatabase | undefined;
afterEach(async () => db?.close());

it('raises disk-space-low while the journal refuses for space, with the operator message, clears it when it takes messages again, and a restart that finds the disk fine clears what the last run left open', async () => {
  db = await DuckDbDatabase.open(':memory:');
  const store = await DuckDbAlertStore.open(db);
  const devices = new MemoryDeviceRegistry({ scryptN: 1024 });
  let now = T0;
  const open = () => AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices, clock: () => now });
  let engine = await open();
  const message = "The ingest's disk is almost full (38.0 MB free, 64.0 MB kept in reserve): new readings are not accepted; devices keep them and send them again once space is freed.";
  await engine.onIngestRefusal({ reason: 'disk-space-low', message, freeBytes: 38 * MiB, minFreeBytes: 64 * MiB });
  const [alert] = await engine.list({ state: 'active', limit: 10 });
  expect(alert).toMatchObject({ deviceId: INGEST_OBJECT, rule: 'disk-space-low', severity: 'critical', group: 'disaster', state: 'active', message, value: 38, detail: { freeMB: 38, reserveMB: 64 } });
  expect(alert!.message).not.toMatch(/\/api\//);

  // A write that failed for another reason is a different alarm; low space is no longer the cause.
  now += 60_000;
  await engine.onIngestRefusal({ reason: 'write-failed', message: 'The ingest could not write to its disk (EIO: i/o error, write): …', freeBytes: 500 * MiB, minFreeBytes: 64 * MiB });
  expect((await engine.list({ state: 'active', limit: 10 })).map((a) => a.rule)).toEqual(['journal-write-failed']);
  await engine.close();

  // The next run starts with a disk that works: what the last run left open clears.
  now += 60_000;
  engine = await open();
  await engine.onIngestRefusal(null);
  expect(await engine.list({ state: 'active', limit: 10 })).toEqual([]);
  const history = await engine.list({ state: 'all', limit: 10 });
  expect(history.map((a) => [a.rule, a.state]).sort()).toEqual([['disk-space-low', 'cleared'], ['journal-write-failed', 'cleared']]);
  await engine.close();
});
