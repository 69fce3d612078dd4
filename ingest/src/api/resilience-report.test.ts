import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { AlertEngine } from '../alerts/engine.js';
import { parseAlertRules } from '../alerts/rules-config.js';
import { DuckDbAlertStore } from '../storage/duckdb/alert-store.js';
import { DuckDbDatabase } from '../storage/duckdb/database.js';
import { resilienceReport } from './resilience-report.js';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

describe('resilience report while the open alerts cannot be loaded', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('answers that they are not loaded (busy, with the store\'s error), never a view without its open alarms, and shows the view once they load', async () => {
    db = await DuckDbDatabase.open(':memory:');
    const real = await DuckDbAlertStore.open(db);
    const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'bsp-1', type: 'bs-power', secret: null, attributes: { site: 'shinjuku-ward-office', battery: 'vrla', targetHours: 24 } });
    let failing = true;
    const store = Object.assign(Object.create(real) as DuckDbAlertStore, {
      loadOpen: async () => {
        if (failing) throw new Error('IO Error: could not read block');
        return real.loadOpen();
      },
    });
    const engine = await AlertEngine.open({ config: parseAlertRules({}), store, lastSeen: { list: async () => [] }, devices: registry, clock: () => T0 });
    // Asked during the first load: told at its failure, not held through the retries.
    await expect(resilienceReport(engine)).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY', message: expect.stringContaining('the open alerts are not loaded yet') });
    // Asked after a failure: told at once.
    await expect(resilienceReport(engine)).rejects.toMatchObject({ code: 'INGEST_ERR_BUSY', retryAfterSec: 5 });
    failing = false;
    await engine.restored;
    const report = await resilienceReport(engine);
    expect(report.sites.map((s) => s.deviceId)).toEqual(['bsp-1']);
    await engine.close();
    await registry.close();
  });
});
