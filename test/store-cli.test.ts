/**
 * `npm run store` (issue 15): rebuild-rollups recomputes from the raw rows what the batches maintained,
 * archive applies retention, status reports; strict options and --help, as operators read them.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../ingest/src/storage/duckdb/index.js';
import { dayRows } from '../ingest/src/storage/duckdb/history/rollups.js';
import type { StorableMessage } from '../ingest/src/storage/types.js';
import { makeTempDir } from './support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..');
const DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0); // 2026-11-24 00:00 in Tokyo
const H = 3_600_000;

function store(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/store.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run store', () => {
  const dir = makeTempDir('store-cli');
  const env = { DATA_DIR: dir.path, RAW_RETENTION_DAYS: '2' };
  let maintained: unknown[];
  const rollups = async () => {
    const s = await openEmbeddedStore(dir.path);
    try {
      return await s.db.all(`SELECT * FROM (${dayRows('water-meter', 'true')}) ORDER BY device_id, day`);
    } finally {
      await s.close();
    }
  };

  beforeAll(async () => {
    const s = await openEmbeddedStore(dir.path, { clock: () => DAY0 + 4 * 24 * H });
    const batch: StorableMessage[] = [];
    for (let k = 0; k < 4 * 24; k++) {
      const ts = DAY0 + k * H;
      batch.push({ channel: 'telemetry', type: 'water-meter', deviceId: 'wm-1', receivedAt: ts, payload: { v: 1, id: 'wm-1', boot: 1, seq: k, ts, samples: [{ ts, indexL: 100 + 3 * k, flowLph: k % 7 }] } as Telemetry });
    }
    await s.writer.write(batch);
    await s.history.fold();
    await s.close();
    maintained = await rollups();
    expect(maintained).toHaveLength(4);
  });
  afterAll(() => dir.remove());

  it('rebuilds the rollups of a range from the raw rows, equal to what the batches kept', async () => {
    const r = store(['rebuild-rollups', '--from', '2026-11-25', '--to', '2026-11-26'], env);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^2026-11-25 {2}rollups rebuilt in [\d.]+ s\n2026-11-26 {2}rollups rebuilt in [\d.]+ s\nrebuilt 2 day\(s\) and latest values in [\d.]+ s\n$/);
    expect(await rollups()).toEqual(maintained);
  });

  it('archives per RAW_RETENTION_DAYS and reports it', () => {
    const r = store(['archive'], env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^moved \d+ closed day part\(s\) to segments; archived \d+ day part\(s\)/);
    const status = JSON.parse(store(['status', '--json'], env).out);
    expect(status.archive.parts).toBeGreaterThan(0);
    // Days of November, more than 2 days ago: all in the archive, none left in segments.
    expect(status.segments).toMatchObject({ root: join(dir.path, 'hot'), parts: 0, rows: 0 });
    expect(status.archive).toMatchObject({ root: join(dir.path, 'archive'), rows: 4 * 24 * 2 });
    const text = store(['status'], env).out;
    expect(text).toMatch(/^segments \(closed days, hot\): .*hot {2}0 part\(s\)/m);
    expect(text).toMatch(/^archive: .*archive {2}\d+ part\(s\) over 5 UTC day\(s\), 192 rows/m);
    expect(status.settings).toEqual({ rawRetentionDays: 2, archiveRetentionDays: null, rollupRetentionDays: null });
  });

  it('compacts the store file: the space of archived rows given back, everything it held still there', async () => {
    const held = async () => {
      const s = await openEmbeddedStore(dir.path);
      try {
        const tables = (await s.db.all(`SELECT table_name AS t FROM duckdb_tables() WHERE NOT temporary ORDER BY ALL`)).map((r) => String(r.t));
        const counts = await s.db.all(tables.map((t) => `SELECT '${t}' AS t, count(*)::INTEGER AS n FROM ${t}`).join(' UNION ALL ') + ' ORDER BY t');
        const keys = await s.db.all(`SELECT count(*)::INTEGER AS n FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'`);
        return { counts, keys, readings: await s.readings.readings('wm-1', 'water-meter', { from: DAY0, to: DAY0 + 4 * 24 * H, limit: 1000 }), rollups: await s.db.all(`SELECT * FROM (${dayRows('water-meter', 'true')}) ORDER BY device_id, day`) };
      } finally {
        await s.close();
      }
    };
    const before = await held();
    expect(before.readings).toHaveLength(96);
    const r = store(['compact'], env);
    expect(r.err).toBe('');
    const [, from, to] = /^compacted .*tsunagaru\.duckdb: ([\d,]+) → ([\d,]+) bytes\n$/.exec(r.out)!.map((v) => Number(v.replaceAll(',', '')));
    expect(to).toBeLessThan(from!);
    expect(await held()).toEqual(before);
    // A dead letter after it takes the next id, not one already used (the sequence came with the copy).
    const s = await openEmbeddedStore(dir.path);
    try {
      for (let k = 0; k < 2; k++) await s.db.run(`INSERT INTO dead_letters (received_at, topic, payload, payload_bytes, truncated, reason) VALUES (now()::TIMESTAMP, 't', 'x', 1, false, 'test')`);
      expect(await s.db.all(`SELECT count(DISTINCT id)::INTEGER AS n FROM dead_letters`)).toEqual([{ n: 2 }]);
    } finally {
      await s.close();
    }
  });

  it('refuses unknown options and bad dates with the usage, and prints --help', () => {
    const bad = store(['rebuild-rollups', '--since', '2026-11-25'], env);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^store: rebuild-rollups: Unknown option '--since'.*\n\nusage: npm run store -- rebuild-rollups .*--from <YYYY-MM-DD>/s);
    expect(store(['rebuild-rollups', '--from', '25/11/2026'], env).err).toMatch(/^store: --from: a Japan day as YYYY-MM-DD, got "25\/11\/2026"/);
    expect(store(['rebuild-rollups', '--from', '2026-11-26', '--to', '2026-11-25'], env).err).toMatch(/^store: --from: must not be after --to/);
    const help = store(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: npm run store -- <command>/);
    expect(store(['status', '--help'], env).out).toMatch(/^usage: npm run store -- status \[options\][\s\S]*--json/);
  });
});
