/** Public surface of @tsunagaru/dashboards: Grafana dashboards as code over the ingest's InfluxDB schema. */
export { allDashboards, generatedFiles, writeGenerated, GENERATED_DIR } from './generate.js';
export { datasourceYaml, dashboardProviderYaml, DASHBOARDS_MOUNT } from './provisioning.js';
export { gazetteer, loadPlaces, type Places, type Place, type WorldmapPoint } from './gazetteer.js';
export { INFLUX_DATASOURCE, EXPRESSION_DATASOURCE, InfluxqlQueryBuilder, type InfluxqlQuery } from './influxql.js';
export { QUERYABLE_MEASUREMENTS } from './schema-names.js';
export { checkStructure, checkQueries, dashboardQueries, allPanels, type DashboardQuery } from './check/dashboard-check.js';
export { checkInfluxql, schemaOf, type Schema, type QueryCheck } from './check/schema-check.js';
export { DMA_INLET_SITE, GAZETTEER_PATH, WELFARE_RULE } from './conventions.js';
export { DashboardError, type DashboardErrorCode } from './errors.js';
