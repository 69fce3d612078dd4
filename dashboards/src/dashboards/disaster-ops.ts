/** Disaster operations: time to dark per site, satellite backhaul, the Izu ring, critical alerts. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { activeAlertCount, activeAlerts, CRITICAL, ALERT_COLUMNS } from '../alert-queries.js';
import { GAZETTEER_PATH } from '../conventions.js';
import { influxql } from '../influxql.js';
import { buildDashboard } from '../layout.js';
import { enumMappings, geomap, stat, stateTimeline, table, timeseries, type ColumnStyle } from '../panels.js';
import { code, enumCodes, fld, from, M, tag } from '../schema-names.js';

const B = M.power;
const R = M.ring;
/** Minutes: under 1 h red, under 6 h orange (the alert engine's critical and major tiers), else green. */
const TIME_TO_DARK_STEPS: Array<[number, string]> = [[60, 'orange'], [360, 'green']];

/** Latest plant state per site, one row per site (table format). */
const sitesNow = `SELECT last(${fld(B, 'runtimeMin')}) AS "controllerTimeLeftMin", last(${fld(B, 'batterySocPct')}) AS ${fld(B, 'batterySocPct')}, last(${fld(B, 'loadA')}) AS ${fld(B, 'loadA')}, last(${fld(B, 'mains')}) AS ${fld(B, 'mains')}, last(${fld(B, 'generator')}) AS ${fld(B, 'generator')}, last(${fld(B, 'fuelPct')}) AS ${fld(B, 'fuelPct')}, last(${fld(B, 'backhaul')}) AS ${fld(B, 'backhaul')} FROM ${from(B)} WHERE time > now() - 6h GROUP BY ${tag(B, 'site')}, ${tag(B, 'island')}, ${tag(B, 'deviceId')}`;
const onSatellite = `SELECT * FROM (SELECT last(${fld(B, 'backhaul')}) AS ${fld(B, 'backhaul')}, last(${fld(B, 'runtimeMin')}) AS "controllerTimeLeftMin" FROM ${from(B)} WHERE time > now() - 6h GROUP BY ${tag(B, 'site')}, ${tag(B, 'deviceId')}) WHERE ${fld(B, 'backhaul')} = ${code(B, 'backhaul', 'satellite')}`;
const onBattery = `SELECT count(${fld(B, 'mains')}) AS "sites" FROM (SELECT last(${fld(B, 'mains')}) AS ${fld(B, 'mains')} FROM ${from(B)} WHERE time > now() - 6h GROUP BY ${tag(B, 'deviceId')}) WHERE ${fld(B, 'mains')} = ${code(B, 'mains', 'off')}`;

/** Column styles shared by the site tables: enum codes shown as words, time to dark coloured. */
const SITE_COLUMNS: Record<string, ColumnStyle> = {
  controllerTimeLeftMin: { unit: 'm', base: 'red', steps: TIME_TO_DARK_STEPS, color: true },
  batterySocPct: { unit: 'percent' },
  loadA: { unit: 'amp' },
  fuelPct: { unit: 'percent' },
  mains: { mappings: enumMappings(enumCodes(B, 'mains'), { on: 'green', off: 'red' }), color: true },
  generator: { mappings: enumMappings(enumCodes(B, 'generator'), { off: 'text', starting: 'yellow', running: 'blue', fault: 'red' }) },
  backhaul: { mappings: enumMappings(enumCodes(B, 'backhaul'), { fiber: 'green', satellite: 'orange', down: 'red' }), color: true },
};

export function disasterOpsDashboard(): Dashboard {
  return buildDashboard({
    uid: 'tsunagaru-disaster',
    title: 'Tsunagaru · Disaster operations',
    description: 'Base-station backup power (time to dark per site), satellite backhaul, the Izu islands fibre ring, and critical alerts.',
    tags: ['disaster-ops'],
    from: 'now-12h',
    refresh: '30s',
    sections: [
      {
        title: 'Backup power',
        panels: [
          geomap({
            title: "Controller's battery time left per site", description: "Each base-station site at its place, coloured by the battery time left its plant controller reports (runtimeMin, at the present load, battery only): red under 1 h, orange under 6 h. The time to dark the alerts judge (the controller's charge spent over the site's daily load, plus the generator, counted down while a site is silent) is in the console's resilience view.",
            w: 12, h: 12, unit: 'm', base: 'red', steps: TIME_TO_DARK_STEPS,
            lookup: 'site', gazetteer: GAZETTEER_PATH, colorField: 'controllerTimeLeftMin', textField: 'site', center: { lat: 35.0, lon: 139.5, zoom: 7 },
            queries: [influxql(sitesNow).table()],
          }),
          table({
            title: "Sites by controller's battery time left (shortest first)", description: "Battery time left as the plant controller reports it (runtimeMin: at the present load, battery only), with battery, load, mains, generator, fuel and backhaul. The console's resilience view shows it beside the ingest's own estimate and the time to dark the alerts judge.",
            w: 12, h: 12, columns: SITE_COLUMNS, sortBy: { field: 'controllerTimeLeftMin', desc: false },
            queries: [influxql(sitesNow).table()],
          }),
          stat({
            title: 'Sites on battery', description: 'Sites whose mains supply is off: their time to dark is counting down.',
            w: 6, h: 6, noValue: '0', color: 'background', base: 'green', steps: [[1, 'orange']],
            queries: [influxql(onBattery)],
          }),
          table({
            title: 'Sites on satellite backhaul', description: 'Sites whose fibre backhaul failed over to satellite.',
            w: 10, h: 6, noValue: 'All sites on fibre', columns: SITE_COLUMNS,
            queries: [influxql(onSatellite).table()],
          }),
          timeseries({
            title: 'Battery state of charge', description: 'Per site.',
            w: 8, h: 6, unit: 'percent', base: 'red', steps: [[30, 'orange'], [60, 'green']],
            queries: [influxql(`SELECT mean(${fld(B, 'batterySocPct')}) FROM ${from(B)} WHERE $timeFilter GROUP BY time($__interval), ${tag(B, 'site')} fill(none)`).alias('$tag_site')],
          }),
        ],
      },
      {
        title: 'Izu islands fibre ring',
        panels: [
          stateTimeline({
            title: 'Ring segments', description: 'Each segment as its end nodes report it (the worse of the two): up, degraded or down (cut).',
            w: 14, h: 9, mappings: enumMappings(enumCodes(R, 'state'), { up: 'green', degraded: 'orange', down: 'red' }),
            queries: [influxql(`SELECT min(${fld(R, 'state')}) FROM ${from(R)} WHERE $timeFilter GROUP BY time($__interval), ${tag(R, 'segment')} fill(previous)`).alias('$tag_segment')],
          }),
          table({
            title: 'Isolated islands', description: 'Islands cut off from both gateways (ring-island-isolated alerts): two cuts isolate the arc between them.',
            w: 10, h: 9, columns: ALERT_COLUMNS, noValue: 'No island isolated',
            queries: [influxql(activeAlerts({ where: `${tag(M.alert, 'rule')} = 'ring-island-isolated'` })).table()],
          }),
        ],
      },
      {
        title: 'Critical alerts',
        panels: [
          stat({
            title: 'Critical alerts', description: 'Active alerts of severity critical.',
            w: 4, h: 8, noValue: '0', color: 'background', base: 'green', steps: [[1, 'red']],
            queries: [influxql(activeAlertCount({ minSeverity: CRITICAL }))],
          }),
          table({
            title: 'Active critical alerts', description: 'Every active critical alert (backhaul down, isolated islands, time to dark under the critical tier…), from the alert engine.',
            w: 20, h: 8, columns: ALERT_COLUMNS, noValue: 'No critical alerts',
            queries: [influxql(activeAlerts({ minSeverity: CRITICAL })).table()],
          }),
        ],
      },
    ],
  });
}
