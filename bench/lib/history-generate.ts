/**
 * The history suite's data: a fleet of water meters (scripts/bench-meters.ts's layout: 65 DMAs behind
 * head-end gateways) reading every 15 minutes, generated in bulk straight into the store's own tables
 * (DuckDB INSERT … SELECT over range(), one Japan day at a time, in arrival order as the live ingest
 * writes them), with the registry, device status and completeness ledger a fleet that ran that long has.
 *
 * A meter's register is a closed form of time, so any day can be generated on its own and in any order:
 * its day's volume is D·(1 + 0.2·(h(d) − h(d−1))) (h a hash in [0, 1), so the sum over days telescopes),
 * spread over the day by the hourly weights of a household (simulators/src/water-meter.ts) with random
 * draws and quiet quarters; the index is floor(base + volume so far), flowLph the quarter's litres × 4.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { MemoryDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { openEmbeddedStore } from '@tsunagaru/ingest';
import { headEndLayout } from '@tsunagaru/simulators';
import { encodeChange } from '../../broker/src/registry/registry-log.js';

export const QUARTER_MS = 15 * 60_000;
export const DAY_MS = 86_400_000;
const JST_MS = 9 * 3_600_000;
/** Sequence numbers count quarters from this day (local day number), so days can be made in any order. */
const SEQ_FROM_DAY = 19_000;
/** A household's use per local hour (simulators/src/water-meter.ts HOURLY_WEIGHTS). */
const HOURLY = [1.5, 0.6, 0.3, 0.3, 0.4, 1.5, 5.0, 8.0, 7.5, 5.5, 4.5, 4.2, 4.5, 4.0, 3.5, 3.5, 4.0, 5.0, 6.5, 7.5, 7.8, 7.0, 5.0, 3.0];

export interface Fleet {
  meters: number;
  dmas: number;
}

export const meterIdSql = (i: string, perDma: number) => `'wm-' || lpad((${i} // ${perDma} + 1)::VARCHAR, 3, '0') || '-' || lpad((${i} % ${perDma} + 1)::VARCHAR, 5, '0')`;
export const perDmaOf = (f: Fleet) => Math.ceil(f.meters / f.dmas);
export const meterId = (f: Fleet, i: number) => `wm-${String(Math.floor(i / perDmaOf(f)) + 1).padStart(3, '0')}-${String((i % perDmaOf(f)) + 1).padStart(5, '0')}`;
export const dmaId = (n: number) => `dma-${String(n + 1).padStart(3, '0')}`;

/** Epoch ms where local (Tokyo) day number `day` starts. */
export const localDayStart = (day: number) => day * DAY_MS - JST_MS;
export const localDayOf = (t: number) => Math.floor((t + JST_MS) / DAY_MS);

/** SQL: one row per meter and quarter of local day `day`, with everything the store's tables take. */
function daySql(f: Fleet, day: number): string {
  const perDma = perDmaOf(f);
  const h = (key: string, d: string) => `((hash(i, ${d}, '${key}') % 1000000)::DOUBLE / 1000000)`;
  const hourWeight = `[${HOURLY.join(', ')}][(k // 4) + 1]`;
  return `
    WITH m AS (
      SELECT i, ${meterIdSql('i', perDma)} AS device_id,
        215.0 * (1 + hash(i, 'residents') % 4) * (0.8 + 0.4 * ${h('daily', '0')}) AS daily,
        (50000 + hash(i, 'base') % 850000)::DOUBLE AS base,
        (hash(i, 'phase') % 900000)::BIGINT AS phase_ms,
        85 + (hash(i, 'battery') % 150) / 10.0 AS battery0
      FROM range(${f.meters}) t(i)),
    q AS (
      SELECT m.*, k, (m.daily * (1 + 0.2 * (${h('day', String(day))} - ${h('day', String(day - 1))}))) AS today,
        -- a quarter's draws: none in most quiet quarters, otherwise a random share of the hour's weight
        CASE WHEN hash(i, ${day}, k, 'quiet') % 100 < 70 * (1 - ${hourWeight} / 8.0) THEN 0
             ELSE ${hourWeight} * (0.2 + (hash(i, ${day}, k, 'draw') % 1000) / 400.0) END AS w
      FROM m, range(96) r(k)),
    c AS (
      SELECT *, sum(w) OVER (PARTITION BY i ORDER BY k) / nullif(sum(w) OVER (PARTITION BY i), 0) AS frac FROM q),
    v AS (
      SELECT *, base + m_prefix + today * coalesce(frac, (k + 1) / 96.0) AS volume
      FROM (SELECT *, daily * (${day} - ${SEQ_FROM_DAY}) + 0.2 * daily * (${h('day', String(day - 1))} - ${h('day', String(SEQ_FROM_DAY - 1))}) AS m_prefix FROM c))
    SELECT device_id, 1::UBIGINT AS boot, ((${day} - ${SEQ_FROM_DAY}) * 96 + k)::UBIGINT AS seq, 0 AS idx,
      make_timestamp((${localDayStart(day)}::BIGINT + k * ${QUARTER_MS} + phase_ms) * 1000) AS ts, false AS replay,
      floor(volume)::BIGINT AS "indexL",
      ((floor(volume) - floor(coalesce(lag(volume) OVER (PARTITION BY i ORDER BY k), base + m_prefix))) * 4)::DOUBLE AS "flowLph",
      round(battery0 - ((${day} - ${SEQ_FROM_DAY}) * 96 + k) * 0.00025, 1)::DOUBLE AS "batteryPct",
      NULL::VARCHAR[] AS alarms
    FROM v`;
}

export interface GeneratedDay {
  day: number;
  rows: number;
  ms: number;
}

/** Creates the store (its schema), the registry file with every meter, device status. Once per directory. */
export async function createFleetStore(dataDir: string, f: Fleet): Promise<void> {
  const store = await openEmbeddedStore(dataDir);
  await store.close();
  // The registry as the ingest's compaction writes it: one line per device (secretless meters).
  const registry = new MemoryDeviceRegistry();
  const lines: string[] = [];
  for (const g of headEndLayout(f.meters, f.dmas)) {
    for (const id of g.meters) lines.push(encodeChange({ op: 'device', record: (await registry.provision({ id, type: 'water-meter', attributes: { dma: g.dma, headEnd: g.id }, secret: null })).device }));
  }
  await registry.close();
  mkdirSync(dirname(registryPathFor(dataDir)), { recursive: true });
  writeFileSync(registryPathFor(dataDir), lines.join(''), { mode: 0o600 });
}

async function connect(dataDir: string): Promise<{ c: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(`${dataDir}/tsunagaru.duckdb`, { memory_limit: '4GB', threads: '2' });
  const c = await instance.connect();
  return { c, close: () => (c.closeSync(), instance.closeSync()) };
}

/**
 * Writes local days [fromDay, toDay] into the store: samples and messages in arrival order, then the
 * completeness ledger and device status as of the newest reading (`firstDay`..`lastDay`: the whole history).
 */
export async function generateDays(dataDir: string, f: Fleet, days: readonly number[], history: { firstDay: number; lastDay: number }, progress: (d: GeneratedDay) => void): Promise<void> {
  const db = await connect(dataDir);
  try {
    for (const day of days) {
      const t0 = performance.now();
      await db.c.run(`CREATE OR REPLACE TEMP TABLE gen AS ${daySql(f, day)}`);
      await db.c.run('BEGIN');
      // BY NAME: columns the generator does not fill (the LoRaWAN radio readings, issue 20) stay NULL.
      await db.c.run(`INSERT INTO samples_water_meter BY NAME SELECT * FROM gen ORDER BY ts`);
      // A reading reaches the ingest a few seconds after it was taken (radio, head-end).
      await db.c.run(`INSERT INTO messages SELECT device_id, boot, seq, 'water-meter', 'telemetry', ts, ts + to_milliseconds(2000 + hash(device_id, seq) % 3000), false, 1 FROM gen ORDER BY ts`);
      await db.c.run('COMMIT');
      const [{ n }] = (await db.c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM gen`)).getRowObjectsJson() as [{ n: number }];
      progress({ day, rows: n, ms: performance.now() - t0 });
    }
    await db.c.run('DROP TABLE IF EXISTS gen');
    const [first, last] = [(history.firstDay - SEQ_FROM_DAY) * 96, (history.lastDay - SEQ_FROM_DAY) * 96 + 95];
    const lastSeen = localDayStart(history.lastDay + 1);
    await db.c.run(
      `INSERT INTO ledger_boots SELECT ${meterIdSql('i', perDmaOf(f))}, 1, '[[${first},${last}]]'::JSON, 0, make_timestamp(${lastSeen}::BIGINT * 1000) FROM range(${f.meters}) t(i)
       ON CONFLICT (device_id, boot) DO UPDATE SET ranges = excluded.ranges, last_received_at = excluded.last_received_at`,
    );
    await db.c.run(
      `INSERT INTO device_status (device_id, type, online, boot, last_seen, last_state_at, fw, model, sample_sec)
       SELECT ${meterIdSql('i', perDmaOf(f))}, 'water-meter', true, 1, make_timestamp(${lastSeen}::BIGINT * 1000), make_timestamp(${localDayStart(history.firstDay)}::BIGINT * 1000), '2.1.0', 'WM-LPWA', 900 FROM range(${f.meters}) t(i)
       ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen`,
    );
    await db.c.run('CHECKPOINT');
  } finally {
    db.close();
  }
}

/** Line protocol of local day `day` as the ingest's InfluxDB writer writes it (measurement, tags, fields), meter by meter. */
export function lineProtocolSql(f: Fleet, day: number): string {
  const [from, to] = [localDayStart(day), localDayStart(day + 1)];
  return `SELECT 'water_meter,deviceId=' || device_id || ',dma=dma-' || substr(device_id, 4, 3) || ',type=water-meter batteryPct=' || "batteryPct"
      || ',boot=' || boot || 'i,flowLph=' || "flowLph" || ',indexL=' || "indexL" || 'i,replay=false,seq=' || seq || 'i ' || epoch_ms(ts) AS line
    FROM samples_water_meter WHERE ts >= make_timestamp(${from}::BIGINT * 1000) AND ts < make_timestamp(${to}::BIGINT * 1000) ORDER BY device_id, ts`;
}

export { connect as connectGenerated };
