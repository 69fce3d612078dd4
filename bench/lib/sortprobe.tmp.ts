// Does a meter's month in one row group (closed day rollups sorted by meter) make its rows cheaper to read?
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
const src = process.argv[2]!; const out = '/work/prof/sorted.duckdb';
const fresh = !existsSync(out);
const inst = await DuckDBInstance.create(out, { threads: '1', memory_limit: '1GB' });
const c = await inst.connect();
await c.run(`ATTACH '${src}' AS h (READ_ONLY)`);
const cols = `device_id, day, n, "indexL_n", "indexL_min", "indexL_max", "indexL_first", "indexL_first_ts", "indexL_last", "indexL_last_ts", "indexL_drop"`;
if (fresh) {
  let t0 = performance.now();
  await c.run(`CREATE TABLE bydayorder AS SELECT ${cols} FROM h.rollup_day_water_meter`);
  await c.run(`CREATE INDEX i1 ON bydayorder (device_id)`);
  console.log('copy ms', Math.round(performance.now() - t0)); t0 = performance.now();
  await c.run(`CREATE TABLE bymeter AS SELECT ${cols} FROM h.rollup_day_water_meter ORDER BY device_id, day`);
  await c.run(`CREATE INDEX i2 ON bymeter (device_id)`);
  console.log('sorted copy ms', Math.round(performance.now() - t0));
  await c.run('CHECKPOINT');
}
const ids = Array.from({ length: 40 }, (_, k) => `wm-${String((k * 7) % 65 + 1).padStart(3, '0')}-${String((k * 37) % 2000 + 1).padStart(5, '0')}`);
for (const [t, d] of [['bydayorder', 31], ['bymeter', 31], ['bydayorder', 1], ['bymeter', 1], ['bydayorder', 31], ['bymeter', 31]] as const) {
  const times: number[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    const r = await c.runAndReadAll(`SELECT ${cols} FROM ${t} WHERE device_id = '${id}' AND day BETWEEN (DATE '1970-01-01' + ${20793 - d}) AND (DATE '1970-01-01' + 20793)`);
    if (r.getRows().length === 0) throw new Error('no rows ' + id);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(t, d, 'days: median ms', times[20]!.toFixed(2), 'min', times[0]!.toFixed(2));
}
process.exit(0);
