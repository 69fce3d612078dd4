/** Public surface of @tsunagaru/dashboards: Grafana dashboards as code over the ingest's InfluxDB schema. */
export { allDashboards, generatedFiles, writeGenerated, GENERATED_DIR } from './generate.js';
export { datasourceYaml, dashboardProviderYaml, DASHBOARDS_MOUNT } from './provisioning.js';
export { gazetteer, loadPlaces, type Places, type Place, type WorldmapPoint } from './gazetteer.js';
export { INFLUX_DATASOURCE, EXPRESSION_DATASOURCE, InfluxqlQueryBuilder, type InfluxqlQuery } from './influxql.js';
export { QUERYABLE_MEASUREMENTS } from './schema-names.js';
