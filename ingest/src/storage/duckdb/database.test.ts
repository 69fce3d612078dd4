import { afterEach, describe, expect, it } from 'vitest';
import { BOOLEAN, DOUBLE, INTEGER, TIMESTAMP, timestampValue, UBIGINT, VARCHAR } from '@duckdb/node-api';
import { DuckDbDatabase } from './database.js';

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
