/**
 * InfluxQL queries for Grafana's `influxdb` data source. The foundation SDK ships no InfluxDB query type,
 * so this is its "custom query" extension (SDK README): a Dataquery variant and its builder.
 *
 * Why InfluxQL and not Flux: it runs on every store the ingest writes to that can answer queries —
 * InfluxDB 1.x, InfluxDB 2.x (through the v1 compatibility API and the bucket's virtual DBRP mapping)
 * and InfluxDB 3 (which dropped Flux) — and our tests run every dashboard query on a real InfluxDB.
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** The provisioned data source (provisioning.ts); every panel and query names it by uid. */
export const INFLUX_DATASOURCE: Readonly<Required<DataSourceRef>> = Object.freeze({ type: 'influxdb', uid: 'tsunagaru-influxdb' });
/** Grafana's server-side expressions (math across the queries of a panel). */
export const EXPRESSION_DATASOURCE: Readonly<Required<DataSourceRef>> = Object.freeze({ type: '__expr__', uid: '__expr__' });

export type ResultFormat = 'time_series' | 'table';

export interface InfluxqlQuery extends Dataquery {
  refId?: string;
  hide?: boolean;
  datasource: DataSourceRef;
  /** Raw InfluxQL with Grafana's macros ($timeFilter, $__interval) and dashboard variables. */
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** Series name pattern, e.g. `$tag_dma`. */
  alias?: string;
}

export class InfluxqlQueryBuilder implements Builder<Dataquery> {
  private readonly internal: InfluxqlQuery;

  constructor(query: string) {
    this.internal = { datasource: { ...INFLUX_DATASOURCE }, query, rawQuery: true, resultFormat: 'time_series', _implementsDataqueryVariant() {} };
  }

  build(): InfluxqlQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  table(): this {
    this.internal.resultFormat = 'table';
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }
}

/** `influxql(q)` reads better in panel definitions than `new InfluxqlQueryBuilder(q)`. */
export const influxql = (query: string, refId = 'A') => new InfluxqlQueryBuilder(query).refId(refId);

/** Double-quotes an identifier (measurement, field, tag) the InfluxQL way. */
export const q = (identifier: string): string => `"${identifier.replace(/["\\]/g, (c) => `\\${c}`)}"`;
