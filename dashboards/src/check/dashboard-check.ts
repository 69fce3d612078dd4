/**
 * Checks of a generated dashboard: its structure (what Grafana needs to load and lay it out) and every
 * query against the InfluxDB schema. Both return a list of problems, empty when all is well.
 */
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { EXPRESSION_DATASOURCE, INFLUX_DATASOURCE } from '../influxql.js';
import { checkInfluxql, type Schema } from './schema-check.js';

/** Panel plugins our dashboards may use (all core Grafana 11 panels). */
export const PANEL_TYPES = new Set(['timeseries', 'table', 'stat', 'state-timeline', 'geomap', 'bargauge', 'text']);
const GRID_COLUMNS = 24;

type AnyPanel = Panel | RowPanel;
interface Target {
  refId?: string;
  datasource?: { type?: string; uid?: string };
  query?: string;
  expression?: string;
  type?: string;
}

/** Every panel, with the panels of collapsed rows. */
export function allPanels(d: Dashboard): AnyPanel[] {
  return (d.panels ?? []).flatMap((p) => (p.type === 'row' ? [p, ...((p as RowPanel).panels ?? [])] : [p]));
}

export function checkStructure(d: Dashboard): string[] {
  const problems: string[] = [];
  if (!d.uid || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) problems.push(`uid "${d.uid}" must be 1-40 letters, digits, - or _`);
  if (!d.title) problems.push('dashboard without a title');
  if (!Number.isInteger(d.schemaVersion) || d.schemaVersion < 36) problems.push(`schemaVersion ${d.schemaVersion} is not a Grafana 11 one`);
  const ids = new Set<number>();
  const boxes: Array<{ name: string; x: number; y: number; w: number; h: number }> = [];
  for (const p of allPanels(d)) {
    const name = `panel ${p.id ?? '?'} "${p.title ?? ''}"`;
    if (!Number.isInteger(p.id) || p.id! < 1) problems.push(`${name}: id must be a positive integer`);
    else if (ids.has(p.id!)) problems.push(`${name}: id ${p.id} is used twice`);
    else ids.add(p.id!);
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger)) {
      problems.push(`${name}: gridPos needs integer x, y, w, h`);
      continue;
    }
    if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > GRID_COLUMNS) problems.push(`${name}: gridPos ${JSON.stringify(g)} is outside the ${GRID_COLUMNS}-column grid`);
    for (const b of boxes) if (g.x < b.x + b.w && b.x < g.x + g.w && g.y < b.y + b.h && b.y < g.y + g.h) problems.push(`${name} overlaps ${b.name}`);
    boxes.push({ name, x: g.x, y: g.y, w: g.w, h: g.h });
    if (p.type === 'row') continue;
    const panel = p as Panel;
    if (!PANEL_TYPES.has(panel.type)) problems.push(`${name}: unknown panel type "${panel.type}"`);
    if (!panel.title) problems.push(`${name}: no title`);
    if (panel.datasource?.uid !== INFLUX_DATASOURCE.uid || panel.datasource.type !== INFLUX_DATASOURCE.type) problems.push(`${name}: datasource must be the provisioned ${INFLUX_DATASOURCE.uid}`);
    problems.push(...checkTargets(name, (panel.targets ?? []) as Target[]));
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query' && v.datasource?.uid !== INFLUX_DATASOURCE.uid) problems.push(`variable ${v.name}: datasource must be ${INFLUX_DATASOURCE.uid}`);
  }
  return problems;
}

function checkTargets(name: string, targets: Target[]): string[] {
  const problems: string[] = [];
  if (targets.length === 0) problems.push(`${name}: no queries`);
  const refIds = targets.map((t) => t.refId);
  targets.forEach((t, i) => {
    if (!t.refId) problems.push(`${name}: query ${i} without refId`);
    else if (refIds.indexOf(t.refId) !== i) problems.push(`${name}: refId ${t.refId} used twice`);
    const ds = t.datasource;
    if (ds?.uid === EXPRESSION_DATASOURCE.uid) {
      for (const ref of (t.expression ?? '').match(/\$[A-Z]+/g) ?? []) if (!refIds.includes(ref.slice(1))) problems.push(`${name}: expression ${t.refId} uses ${ref}, which is no query of the panel`);
    } else if (ds?.uid !== INFLUX_DATASOURCE.uid) {
      problems.push(`${name}: query ${t.refId} has no InfluxDB datasource`);
    } else if (!t.query?.trim()) {
      problems.push(`${name}: query ${t.refId} is empty`);
    }
  });
  return problems;
}

/** One InfluxQL query of a dashboard, with where it is. */
export interface DashboardQuery {
  where: string;
  query: string;
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const p of allPanels(d)) {
    for (const t of ((p as Panel).targets ?? []) as Target[]) {
      if (t.datasource?.uid === INFLUX_DATASOURCE.uid && t.query) queries.push({ where: `${d.uid} panel "${p.title}" ${t.refId}`, query: t.query });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query' && typeof v.query === 'string') queries.push({ where: `${d.uid} variable ${v.name}`, query: v.query });
  }
  return queries;
}

/** Every query of the dashboard against the schema: `where: problem` lines. */
export function checkQueries(d: Dashboard, schema: Schema): string[] {
  return dashboardQueries(d).flatMap(({ where, query }) => checkInfluxql(query, schema).problems.map((p) => `${where}: ${p}`));
}
