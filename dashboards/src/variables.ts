/** Dashboard variables: tag values listed by an InfluxQL query on the same data source. */
import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUX_DATASOURCE } from './influxql.js';

/** A multi-value variable with "All" (regex `.*`), for `"tag" =~ /^$name$/` filters. */
export function queryVariable(name: string, label: string, query: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource({ ...INFLUX_DATASOURCE })
    .query(query)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc);
}
