import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allPanels, checkQueries, checkStructure, dashboardQueries } from './check/dashboard-check.js';
import { checkInfluxql, schemaOf } from './check/schema-check.js';
import { allDashboards, GENERATED_DIR, generatedFiles, listFiles } from './generate.js';
import { INFLUX_DATASOURCE } from './influxql.js';
import { DASHBOARDS_MOUNT } from './provisioning.js';
import { fld, M, QUERYABLE_MEASUREMENTS } from './schema-names.js';

const schema = schemaOf(QUERYABLE_MEASUREMENTS);
const dashboards = allDashboards();
const copy = (d: Dashboard): Dashboard => JSON.parse(JSON.stringify(d)) as Dashboard;

describe('generated dashboards', () => {
  it('are committed as generated (run `npm run dashboards` after changing dashboards/src)', () => {
    const files = generatedFiles();
    expect(existsSync(GENERATED_DIR)).toBe(true);
    expect(listFiles(GENERATED_DIR)).toEqual([...files.keys()].sort());
    for (const [path, content] of files) expect(readFileSync(join(GENERATED_DIR, path), 'utf8'), `${path} is stale`).toBe(content);
  });

  it('come out the same every time (deterministic)', () => {
    expect([...generatedFiles()]).toEqual([...generatedFiles()]);
  });

  it.each(Object.keys(dashboards))('%s: every panel has the data source, queries, a place on the grid and its own id', (name) => {
    const d = dashboards[name]!;
    expect(checkStructure(d)).toEqual([]);
    const panels = allPanels(d).filter((p) => p.type !== 'row') as Panel[];
    expect(panels.length).toBeGreaterThan(4);
    for (const p of panels) {
      expect(p.datasource).toEqual(INFLUX_DATASOURCE);
      expect(p.targets?.length).toBeGreaterThan(0);
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
    }
  });

  it.each(Object.keys(dashboards))('%s: every query reads only measurements, fields and tags of the ingest schema', (name) => {
    expect(checkQueries(dashboards[name]!, schema)).toEqual([]);
  });

  it('cover what each user group asked for', () => {
    const used = (d: Dashboard) => new Set(dashboardQueries(d).flatMap((q) => checkInfluxql(q.query, schema).fields));
    const field = used(dashboards['field-engineers']!);
    for (const f of ['smart_pole.fiveG', 'smart_pole.cabinetTempC', 'smart_pole.doorOpen', 'device_event.seq', 'alert.state']) expect(field).toContain(f);
    const water = used(dashboards['water-bureau']!);
    for (const f of ['water_meter.indexL', 'water_meter.flowLph', 'water_meter.alarms', 'alert.state']) expect(water).toContain(f);
    const disaster = used(dashboards['disaster-ops']!);
    for (const f of ['bs_power.runtimeMin', 'bs_power.backhaul', 'ring_segment.state', 'alert.severity']) expect(disaster).toContain(f);
    const types = (d: Dashboard) => allPanels(d).map((p) => p.type);
    expect(types(dashboards['disaster-ops']!)).toEqual(expect.arrayContaining(['geomap', 'table', 'state-timeline']));
  });

  it('keep welfare alerts out of Grafana', () => {
    for (const d of Object.values(dashboards)) {
      for (const { query } of dashboardQueries(d).filter((q) => q.query.includes('"alert"'))) expect(query).toContain(`"rule" != 'welfare-watch'`);
    }
  });
});

describe('the query-vs-schema check catches mistakes', () => {
  const problems = (query: string) => checkInfluxql(query, schema).problems;

  it('a misspelt field, measurement or tag', () => {
    expect(problems('SELECT mean("cabinetTempc") FROM "smart_pole" WHERE $timeFilter GROUP BY time($__interval)')).toEqual(['SELECT: "smart_pole" has no field or tag "cabinetTempc"']);
    expect(problems('SELECT mean("cabinetTempC") FROM "smart_poles" WHERE $timeFilter')).toEqual(['unknown measurement "smart_poles"']);
    expect(problems('SELECT last("state") FROM "ring_segment" WHERE $timeFilter GROUP BY "segmnet"')).toEqual(['GROUP BY: "ring_segment" has no tag "segmnet"']);
    expect(problems(`SELECT last("flowLph") FROM "water_meter" WHERE "DMA" = 'a'`)).toEqual(['WHERE: "water_meter" has no field or tag "DMA"']);
    expect(problems('SHOW TAG VALUES FROM "water_meter" WITH KEY = "district"')).toEqual(['measurement "water_meter" has no tag "district"']);
  });

  it('a column an outer query reads that its subquery does not produce', () => {
    expect(problems('SELECT sum("litre") FROM (SELECT non_negative_difference(last("indexL")) AS "litres" FROM "water_meter" GROUP BY "deviceId") GROUP BY "deviceId"')[0]).toMatch(/has no field or tag "litre"/);
    expect(problems('SELECT sum("litres") FROM (SELECT last("indexL") AS "litres" FROM "water_meter" GROUP BY "deviceId") GROUP BY "dma"')[0]).toMatch(/has no tag "dma"/);
  });

  it('functions and operators on fields of the wrong type', () => {
    expect(problems('SELECT mean("doorOpen") FROM "smart_pole"')).toEqual(['SELECT: mean() of "doorOpen", a boolean field: it needs a number']);
    expect(problems('SELECT last("flowLph") & 1 FROM "water_meter"')).toEqual(['SELECT: bitwise operator on "flowLph" (float): it needs an integer field']);
    expect(problems('SELECT max("deviceId") FROM "smart_pole"')).toEqual(['SELECT: max() of tag "deviceId": functions take fields, not tags']);
  });

  it('a typo slipped into a generated dashboard', () => {
    const d = copy(dashboards['disaster-ops']!);
    const panel = allPanels(d).find((p) => p.title === 'Ring segments') as Panel;
    const target = panel.targets![0] as unknown as { query: string };
    target.query = target.query.replace('"state"', '"sate"');
    expect(checkQueries(d, schema)).toEqual(['tsunagaru-disaster panel "Ring segments" A: SELECT: "ring_segment" has no field or tag "sate"']);
  });

  it('and generation itself refuses a name the schema does not have', () => {
    expect(() => fld(M.pole, 'cabinetTemp')).toThrow(/smart_pole has no field "cabinetTemp"/);
  });
});

describe('the structure check catches mistakes', () => {
  it('duplicate ids, panels off the grid or overlapping, missing data source or queries', () => {
    const d = copy(dashboards['field-engineers']!);
    const [row, a, b, c, e] = allPanels(d) as Panel[];
    b!.id = a!.id;
    c!.gridPos = { x: 5, y: a!.gridPos!.y, w: 8, h: 4 };
    e!.gridPos = { x: 20, y: 100, w: 8, h: 4 };
    delete a!.datasource;
    a!.targets = [];
    const problems = checkStructure(d).join('\n');
    expect(row!.type).toBe('row');
    expect(problems).toMatch(/id \d+ is used twice/);
    expect(problems).toMatch(/outside the 24-column grid/);
    expect(problems).toMatch(/overlaps/);
    expect(problems).toMatch(/datasource must be the provisioned tsunagaru-influxdb/);
    expect(problems).toMatch(/no queries/);
  });
});

describe('provisioning', () => {
  it('declares the InfluxQL data source the panels name, and loads the dashboards from the mounted folder', () => {
    const files = generatedFiles();
    const ds = parse(files.get('provisioning/datasources/tsunagaru-influxdb.yaml')!) as { datasources: Array<Record<string, any>> };
    expect(ds.datasources).toHaveLength(1);
    expect(ds.datasources[0]).toMatchObject({ uid: INFLUX_DATASOURCE.uid, type: 'influxdb', jsonData: { version: 'InfluxQL', httpHeaderName1: 'Authorization' }, secureJsonData: { httpHeaderValue1: 'Token $INFLUX_TOKEN' } });
    const providers = parse(files.get('provisioning/dashboards/tsunagaru.yaml')!) as { providers: Array<Record<string, any>> };
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: DASHBOARDS_MOUNT } });
    const sites = JSON.parse(files.get('gazetteer/tsunagaru-sites.json')!) as Array<{ key: string; latitude: number; longitude: number }>;
    expect(sites.map((s) => s.key)).toEqual(expect.arrayContaining(['tokyo-metropolitan-government', 'oshima-motomachi', 'niijima']));
  });
});
