import { describe, expect, it } from 'vitest';
import { InfluxqlSyntaxError, parseInfluxql, tokenize } from './influxql-parse.js';

describe('InfluxQL parsing (enough to check queries against the schema)', () => {
  it('tokenizes quoted identifiers, strings, regexes, Grafana macros and durations', () => {
    const kinds = tokenize(`SELECT "a\\"b" FROM "m" WHERE "t" =~ /^$dma$/ AND time > now() - 30d AND $timeFilter AND x = 'a'`).map((t) => `${t.kind}:${t.value}`);
    expect(kinds).toContain('ident:a"b');
    expect(kinds).toContain('regex:^$dma$');
    expect(kinds).toContain('duration:30d');
    expect(kinds).toContain('var:timeFilter');
    expect(() => tokenize('SELECT "open FROM m')).toThrow(InfluxqlSyntaxError);
  });

  it('reads the items, sources, WHERE and GROUP BY of a SELECT', () => {
    const s = parseInfluxql(`SELECT max("cabinetTempC") AS "hot", last("alarms") & 2 FROM "smart_pole", "water_meter" WHERE $timeFilter AND "deviceId" =~ /^$pole$/ GROUP BY time($__interval, 1h), "deviceId" fill(previous) tz('Asia/Tokyo')`);
    expect(s).toMatchObject({
      kind: 'select',
      items: [
        { column: 'hot', fn: 'max', refs: [{ name: 'cabinetTempC', fn: 'max' }], bitwise: false },
        { column: 'last', fn: 'last', refs: [{ name: 'alarms', fn: 'last', bitwise: true }], bitwise: true },
      ],
      sources: [{ measurement: 'smart_pole' }, { measurement: 'water_meter' }],
      where: [{ name: 'deviceId' }],
      groupByTags: ['deviceId'],
    });
  });

  it('follows subqueries and parenthesised conditions', () => {
    const s = parseInfluxql(`SELECT * FROM (SELECT last("state") AS "state" FROM "alert" WHERE ("rule" != 'x') GROUP BY "deviceId", "object") WHERE "state" = 1 ORDER BY time DESC LIMIT 10`);
    if (s.kind !== 'select') throw new Error('expected a SELECT');
    expect(s.items[0]!.star).toBe(true);
    expect(s.where).toEqual([{ name: 'state' }]);
    const inner = s.sources[0]!;
    expect('subquery' in inner && inner.subquery.where).toEqual([{ name: 'rule' }]);
    expect('subquery' in inner && inner.subquery.groupByTags).toEqual(['deviceId', 'object']);
  });

  it('reads SHOW TAG VALUES and refuses what it cannot read', () => {
    expect(parseInfluxql('SHOW TAG VALUES FROM "water_meter" WITH KEY = "dma"')).toEqual({ kind: 'show-tag-values', measurements: ['water_meter'], key: 'dma', where: [] });
    expect(() => parseInfluxql('SELECT "a"')).toThrow(/without FROM/);
    expect(() => parseInfluxql('DROP MEASUREMENT "m"')).toThrow(/expected SELECT/);
  });
});
