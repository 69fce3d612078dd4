/**
 * The StorageWriter contract (ingest/src/storage/writer.contract.ts) against the real servers: InfluxDB
 * 1.6 through /write (InfluxV1Writer), VictoriaMetrics through the InfluxDB 2.x write API
 * (InfluxV2Writer), and the fan-out of the embedded DuckDB and InfluxDB 1.6 (what STORE=duckdb,influx-v1
 * opens). The embedded DuckDB alone runs it in ingest/src/storage/duckdb/writer.test.ts.
 */
import { afterAll, beforeAll } from 'vitest';
import { TELEMETRY_MEASUREMENTS, type DeviceType } from '@tsunagaru/firmware-contracts';
import { InfluxV1Writer, InfluxV2Writer } from '@tsunagaru/ingest';
import { openEmbeddedStore } from '../ingest/src/storage/duckdb/index.js';
import { FanOutWriter } from '../ingest/src/storage/fan-out-writer.js';
import { storageWriterContract } from '../ingest/src/storage/writer.contract.js';
import { fromVictoriaExport } from './support/influx-readback.js';
import { INFLUX_ADMIN, INFLUXD_BIN, influxQl, influxRows, serverAvailable, startInfluxDb16, startVictoriaMetrics, VICTORIA_BIN, victoriaExport, type TsdbServer } from './support/tsdb.js';
import { waitFor } from './support/wait-for.js';

const attributes = () => ({ site: 'contract' });
let databases = 0;

/** InfluxDB 1.x rows of one device, one per point (a ring node's: one per segment, measurement ring_segment). */
async function influxPoints(url: string, db: string, deviceId: string, type: DeviceType) {
  const rows = await influxRows(url, db, `SELECT boot, seq FROM ${TELEMETRY_MEASUREMENTS[type].measurement} WHERE deviceId = '${deviceId}'`);
  return rows.map((r) => ({ boot: r.boot as number, seq: r.seq as number, ts: r.time as number }));
}

if (serverAvailable(INFLUXD_BIN)) {
  let influx: TsdbServer;
  beforeAll(async () => {
    influx = await startInfluxDb16('contract');
  }, 60_000);
  afterAll(async () => influx?.dispose());

  /** A fresh database on the one server. */
  const freshDb = async () => {
    const db = `contract${++databases}`;
    await influxQl(influx.url, `CREATE DATABASE ${db}`);
    return db;
  };
  const v1 = (db: string, url = influx.url) => new InfluxV1Writer({ url, db, user: INFLUX_ADMIN.user, password: INFLUX_ADMIN.password, attributes, timeoutMs: 2000 });

  storageWriterContract('InfluxV1Writer (InfluxDB 1.6, /write)', async () => {
    const db = await freshDb();
    return {
      writer: v1(db),
      tellsDuplicates: false,
      points: (deviceId, type) => influxPoints(influx.url, db, deviceId, type),
      unreachable: () => v1(db, 'http://127.0.0.1:1'),
      dispose: async () => undefined,
    };
  });

  storageWriterContract('FanOutWriter (the embedded DuckDB and InfluxDB 1.6)', async () => {
    const db = await freshDb();
    const store = await openEmbeddedStore(':memory:');
    return {
      writer: new FanOutWriter([store.writer, v1(db)]),
      tellsDuplicates: true, // the first store's outcomes: DuckDB's
      async points(deviceId, type) {
        // Both stores must hold the same points: a batch counts as stored only when every store took it.
        const rows = await store.readings.readings(deviceId, type, { from: 0, to: 8_640_000_000_000_000, limit: 1000 });
        const duck = rows.flatMap((r) => ((r as { segments?: unknown[] }).segments ?? [r]).map(() => ({ boot: r.boot, seq: r.seq, ts: r.ts })));
        const inInflux = await influxPoints(influx.url, db, deviceId, type);
        if (inInflux.length !== duck.length) throw new Error(`DuckDB holds ${duck.length} points of ${deviceId}, InfluxDB ${inInflux.length}`);
        return duck;
      },
      unreachable: () => new FanOutWriter([store.writer, v1(db, 'http://127.0.0.1:1')]),
      dispose: () => store.close(),
    };
  });
}

if (serverAvailable(VICTORIA_BIN)) {
  let vm: TsdbServer;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  }, 60_000);
  afterAll(async () => vm?.dispose());

  const v2 = (url: string) => new InfluxV2Writer({ url, org: 'tsunagaru', bucket: 'tsunagaru', attributes, stringFields: false });

  storageWriterContract('InfluxV2Writer (VictoriaMetrics, InfluxDB 2.x write API)', async () => ({
    writer: v2(vm.url),
    tellsDuplicates: false,
    async points(deviceId, type, atLeast) {
      // VictoriaMetrics shows a write after its in-memory buffer is flushed (victoriaExport forces it).
      const read = async () => fromVictoriaExport(type, await victoriaExport(vm.url, `{__name__=~"${TELEMETRY_MEASUREMENTS[type].measurement}_.*",deviceId="${deviceId}"}`));
      const got = await waitFor(`${atLeast} points of ${deviceId}`, async () => {
        const r = await read();
        return r.length >= atLeast ? r : undefined;
      }, 10_000, 200).catch(read);
      return got.map((p) => ({ boot: p.boot, seq: p.seq, ts: p.ts }));
    },
    unreachable: () => v2('http://127.0.0.1:1'),
    dispose: async () => undefined,
  }));
}
