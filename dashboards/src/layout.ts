/** Assembles a dashboard from titled sections of panels: rows, positions and panel ids. */
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { DashboardBuilder, DashboardCursorSync, RowBuilder, type Dashboard, type Panel, type VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';

export interface Section {
  title: string;
  panels: Array<Builder<Panel> & { id(id: number): unknown }>;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  /** Default time range, e.g. `now-24h`. */
  from: string;
  refresh: string;
  variables?: Array<Builder<VariableModel>>;
  sections: Section[];
}

/** Common tag of every generated dashboard (the provisioning folder groups them too). */
export const DASHBOARD_TAG = 'tsunagaru';

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const b = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG, ...spec.tags])
    .timezone('Asia/Tokyo')
    .time({ from: spec.from, to: 'now' })
    .refresh(spec.refresh)
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly();
  for (const v of spec.variables ?? []) b.withVariable(v);
  let id = 0;
  for (const section of spec.sections) {
    b.withRow(new RowBuilder(section.title).id(++id));
    for (const panel of section.panels) {
      panel.id(++id);
      b.withPanel(panel);
    }
  }
  return b.build();
}
