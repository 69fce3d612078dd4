import { storageWriterContract } from '../writer.contract.js';
import { openEmbeddedStore } from './index.js';

/** The embedded DuckDB, in memory: a ring node's sample is one point per segment, as in InfluxDB. */
storageWriterContract('DuckDbWriter (embedded store)', async () => {
  const store = await openEmbeddedStore(':memory:');
  return {
    writer: store.writer,
    tellsDuplicates: true,
    async points(deviceId, type) {
      const rows = await store.readings.readings(deviceId, type, { from: 0, to: 8_640_000_000_000_000, limit: 1000 });
      return rows.flatMap((r) => ((r as { segments?: unknown[] }).segments ?? [r]).map(() => ({ boot: r.boot, seq: r.seq, ts: r.ts })));
    },
    dispose: () => store.close(),
  };
});
