// Usage over the history for one meter: SQL as the API builds it, timed and profiled (EXPLAIN ANALYZE).
import { DuckDbDatabase } from '../../ingest/src/storage/duckdb/database.js';
import { HistoryReader } from '../../ingest/src/storage/duckdb/history/series.js';
const dir = process.argv[2]!; const days = Number(process.argv[3] ?? 30);
const db = await DuckDbDatabase.open(dir, { memoryLimit: '512MB', threads: 1 });
let sql = '';
const rec = { all: (q: string, p?: any, t?: any) => { sql = q; return db.all(q, p, t); } } as any;
const reader = new HistoryReader(rec, {} as any, () => false);
const now = Date.now(); const to = Math.floor(now / 86400000) * 86400000 - 9 * 3600000; const from = to - days * 86400000;
const ids = Array.from({ length: 30 }, (_, k) => `wm-${String((k * 7) % 65 + 1).padStart(3, '0')}-${String((k * 37) % 2000 + 1).padStart(5, '0')}`);
const times: number[] = [];
for (const id of ids) { const t0 = performance.now(); const pts = await reader.deviceSeries(id, 'water-meter' as any, { from, to, interval: '1d' }, ['usage'], ['indexL']); times.push(performance.now() - t0); if (id === ids[0]) console.log(pts.length, JSON.stringify(pts.at(-2))); }
times.sort((a, b) => a - b); console.log('median ms', times[15]!.toFixed(1), 'min', times[0]!.toFixed(1));
if (process.argv[4]) { const r = await db.all(`EXPLAIN ANALYZE ${sql}`); console.log(String(Object.values(r[0]!)[1])); }
process.exit(0);
