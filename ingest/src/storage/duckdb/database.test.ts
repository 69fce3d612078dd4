import { afterEach, describe, expect, it } from 'vitest';
import { BOOLEAN, DOUBLE, INTEGER, TIMESTAMP, timestampValue, UBIGINT, VARCHAR } from '@duckdb/node-api';
import { DuckDbDatabase, rowsAsJson } from './database.js';

describe('DuckDbDatabase.transaction append', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => db?.close());

  const types = [VARCHAR, UBIGINT, UBIGINT, INTEGER, TIMESTAMP, BOOLEAN, DOUBLE];
  const columns = (n: number) => [
    Array.from({ length: n }, (_, i) => `wm-${i % 7}`),
    Array.from({ length: n }, () => 1n),
    Array.from({ length: n }, (_, i) => BigInt(i)),
    Array.from({ length: n }, () => 0),
    Array.from({ length: n }, (_, i) => timestampValue(BigInt(1_700_000_000_000 + i) * 1000n)),
    Array.from({ length: n }, () => false),
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : i / 2)),
  ];

  it('appends more rows than one data chunk holds, values and nulls intact', async () => {
    db = await DuckDbDatabase.open(':memory:');
    await db.run('CREATE TABLE t (device_id VARCHAR, boot UBIGINT, seq UBIGINT, idx INTEGER, ts TIMESTAMP, replay BOOLEAN, v DOUBLE)');
    await db.transaction((tx) => tx.append('t', types, columns(5000)));
    const [row] = await db.all('SELECT count(*)::INTEGER AS n, count(v)::INTEGER AS nv, max(seq)::INTEGER AS top, sum(v) AS s, max(epoch_ms(ts)) AS last FROM t');
    expect(row).toMatchObject({ n: 5000, nv: 5000 - 1667, top: 4999, last: '1700000004999' });
    const expected = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? 0 : i / 2)).reduce((a, b) => a + b, 0);
    expect(row!.s).toBeCloseTo(expected);
  });

  it('drops appended rows when the transaction rolls back', async () => {
    db = await DuckDbDatabase.open(':memory:');
    await db.run('CREATE TABLE t (device_id VARCHAR, boot UBIGINT, seq UBIGINT, idx INTEGER, ts TIMESTAMP, replay BOOLEAN, v DOUBLE)');
    await expect(
      db.transaction(async (tx) => {
        await tx.append('t', types, columns(3000));
        throw new Error('the batch failed after its samples were appended');
      }),
    ).rejects.toThrow('after its samples');
    const [row] = await db.all('SELECT count(*)::INTEGER AS n FROM t');
    expect(row!.n).toBe(0);
  });
});

describe('rowsAsJson', () => {
  let db: DuckDbDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('gives every value exactly as all() does, numbers as numbers: doubles to the last bit, integers to 2^53, lists, text, nulls', async () => {
    db = await DuckDbDatabase.open(':memory:');
    await db.run(`CREATE TABLE t (k INTEGER, d DOUBLE, b BIGINT, ok BOOLEAN, s VARCHAR, l VARCHAR[], n DOUBLE)`);
    // Doubles that print with 17 digits, the smallest normal, integers at the edge of a JS number's precision.
    const doubles = [0.1 + 0.2, 1 / 3, 2.2250738585072014e-308, -1.5e300, 123456.789, 0];
    for (const [k, d] of doubles.entries()) {
      // The double as text: the driver would bind -1.5e300 (an integer to JavaScript) as a BIGINT.
      await db.run(`INSERT INTO t VALUES ($1, $2::DOUBLE, $3, $4, $5, ['leak', 'it''s "quoted" 漏水'], NULL)`, [k, String(d), BigInt(2 ** 53 - 1 - k), k % 2 === 0, `wm-${k}\n"x"`]);
    }
    const sql = `SELECT k, d, b, ok, s, l, n FROM t WHERE k >= $1 ORDER BY k`;
    const json = await rowsAsJson(db, sql, [0]);
    const plain = await db.all(sql, [0]);
    expect(json.map((r) => r.d)).toEqual(doubles);
    expect(json.map((r) => r.b)).toEqual(plain.map((r) => Number(r.b)));
    expect(json.map((r) => r.b)).toEqual(doubles.map((_, k) => 2 ** 53 - 1 - k));
    expect(json.map(({ b: _b, ...rest }) => rest)).toEqual(plain.map(({ b: _b, ...rest }) => rest));
    expect(json[0]).toMatchObject({ ok: true, s: 'wm-0\n"x"', l: ['leak', 'it\'s "quoted" 漏水'], n: null });
  });
});
