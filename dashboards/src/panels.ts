/**
 * The few panel shapes our dashboards use, built with the foundation SDK. Every panel names the InfluxDB
 * data source, carries its queries, and gets its size here; the dashboard (layout.ts) places it and
 * numbers it.
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { MappingType, ThresholdsConfigBuilder, ThresholdsMode, type DynamicConfigValue, type Panel, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as GeomapPanel } from '@grafana/grafana-foundation-sdk/geomap';
import { MapViewConfigBuilder } from '@grafana/grafana-foundation-sdk/geomap';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { INFLUX_DATASOURCE } from './influxql.js';

export interface PanelBase {
  title: string;
  description: string;
  /** Width in grid columns (of 24) and height in rows. */
  w: number;
  h: number;
  queries: Array<Builder<Dataquery>>;
  unit?: string;
  /** [value, colour] steps above the base colour. */
  steps?: Array<[number, string]>;
  base?: string;
  mappings?: ValueMapping[];
  noValue?: string;
  /** Lowest query interval (`$__interval` never goes below it), e.g. the devices' reporting interval. */
  interval?: string;
  /** Own time range instead of the dashboard's, e.g. `30d` (Grafana "relative time"). */
  timeFrom?: string;
}

/** What every panel kind shares, applied to an SDK panel builder. */
interface CommonBuilder<T> extends Builder<Panel> {
  title(t: string): T;
  description(d: string): T;
  datasource(d: typeof INFLUX_DATASOURCE): T;
  span(w: number): T;
  height(h: number): T;
  targets(t: Array<Builder<Dataquery>>): T;
  unit(u: string): T;
  thresholds(t: Builder<import('@grafana/grafana-foundation-sdk/dashboard').ThresholdsConfig>): T;
  mappings(m: ValueMapping[]): T;
  noValue(v: string): T;
  interval(i: string): T;
  timeFrom(t: string): T;
}

function apply<T extends CommonBuilder<T>>(b: T, o: PanelBase): T {
  b.title(o.title).description(o.description).datasource({ ...INFLUX_DATASOURCE }).span(o.w).height(o.h).targets(o.queries);
  if (o.unit) b.unit(o.unit);
  if (o.steps || o.base) b.thresholds(thresholds(o.base ?? 'green', o.steps ?? []));
  if (o.mappings) b.mappings(o.mappings);
  if (o.noValue) b.noValue(o.noValue);
  if (o.interval) b.interval(o.interval);
  if (o.timeFrom) b.timeFrom(o.timeFrom);
  return b;
}

export function thresholds(base: string, steps: Array<[number, string]>) {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

/** Grafana value mappings for an enum field's codes (from the schema) with a colour per value. */
export function enumMappings(codes: Readonly<Record<string, number>>, colors: Readonly<Record<string, string>>): ValueMapping[] {
  const options = Object.fromEntries(Object.entries(codes).map(([text, c]) => [String(c), { text, color: colors[text] ?? 'text', index: c }]));
  return [{ type: MappingType.ValueToText, options }];
}

export function booleanMappings(whenTrue: string, whenFalse: string, colorTrue = 'orange', colorFalse = 'green'): ValueMapping[] {
  return [{ type: MappingType.ValueToText, options: { true: { text: whenTrue, color: colorTrue, index: 0 }, false: { text: whenFalse, color: colorFalse, index: 1 }, '1': { text: whenTrue, color: colorTrue, index: 2 }, '0': { text: whenFalse, color: colorFalse, index: 3 } } }];
}

export function timeseries(o: PanelBase & { bars?: boolean; stacked?: boolean; fill?: number }) {
  const b = apply(new TimeseriesPanel(), o)
    .drawStyle(o.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .fillOpacity(o.fill ?? (o.bars ? 80 : 10))
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(true)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).calcs([]));
  if (o.stacked) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
  if (o.steps) b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  return b;
}

export function stat(o: PanelBase & { calc?: string; color?: 'value' | 'background' }) {
  return apply(new StatPanel(), o)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs([o.calc ?? 'lastNotNull']).values(false))
    .colorMode(o.color === 'background' ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName);
}

/** How one table column looks: unit, value mappings, thresholds, and whether its cells are coloured. */
export interface ColumnStyle {
  unit?: string;
  mappings?: ValueMapping[];
  base?: string;
  steps?: Array<[number, string]>;
  color?: boolean;
}

export function table(o: PanelBase & { sortBy?: { field: string; desc: boolean }; columns?: Record<string, ColumnStyle> }) {
  const b = apply(new TablePanel(), o).showHeader(true).cellHeight(common.TableCellHeight.Sm).filterable(true);
  if (o.sortBy) b.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy.field).desc(o.sortBy.desc)]);
  // Per-column styles as overrides, so a mapping for one enum column never relabels another column's numbers.
  for (const [name, c] of Object.entries(o.columns ?? {})) {
    const props: DynamicConfigValue[] = [];
    if (c.unit) props.push({ id: 'unit', value: c.unit });
    if (c.mappings) props.push({ id: 'mappings', value: c.mappings });
    if (c.steps || c.base) props.push({ id: 'thresholds', value: thresholds(c.base ?? 'green', c.steps ?? []).build() });
    if (c.color) props.push({ id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } });
    b.overrideByName(name, props);
  }
  return b;
}

export function stateTimeline(o: PanelBase) {
  return apply(new StateTimelinePanel(), o).showValue(common.VisibilityMode.Never).rowHeight(0.8).mergeValues(true).fillOpacity(80).lineWidth(0);
}

export interface GeomapOptions extends PanelBase {
  /** The query column that names the place, looked up in the gazetteer. */
  lookup: string;
  gazetteer: string;
  /** Colour (by this field's thresholds) and label (another field) of each marker. */
  colorField: string;
  textField: string;
  center: { lat: number; lon: number; zoom: number };
}

/** Markers placed by a gazetteer lookup (sites carry a `site` tag, not coordinates). */
export function geomap(o: GeomapOptions) {
  const markers: common.MapLayerOptions = {
    type: 'markers',
    name: o.title,
    tooltip: true,
    location: { mode: common.FrameGeometrySourceMode.Lookup, lookup: o.lookup, gazetteer: o.gazetteer },
    config: {
      showLegend: true,
      style: {
        size: { fixed: 10 },
        color: { field: o.colorField, fixed: 'green' },
        opacity: 0.85,
        symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
        text: { mode: 'field', field: o.textField, fixed: '' },
        textConfig: { fontSize: 11, offsetY: -14, textAlign: 'center', textBaseline: 'bottom' },
      },
    },
  };
  return apply(new GeomapPanel(), o)
    .view(new MapViewConfigBuilder().id('coords').lat(o.center.lat).lon(o.center.lon).zoom(o.center.zoom))
    .basemap(builderOf<common.MapLayerOptions>({ type: 'default', name: 'Basemap' }))
    .layers([builderOf(markers)]);
}

/** Wraps a plain value as an SDK builder (for option objects the SDK has no builder for). */
export const builderOf = <T>(value: T): Builder<T> => ({ build: () => value });
