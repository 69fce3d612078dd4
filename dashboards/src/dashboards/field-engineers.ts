/** Field engineers: is every device reporting, which are offline, and the state of the smart poles. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { activeAlertCount, activeAlerts, ALERT_COLUMNS } from '../alert-queries.js';
import { REPORTING_WINDOW } from '../conventions.js';
import { influxql, q } from '../influxql.js';
import { buildDashboard } from '../layout.js';
import { booleanMappings, enumMappings, stat, stateTimeline, table, timeseries } from '../panels.js';
import { enumCodes, fld, from, M, tag } from '../schema-names.js';
import { queryVariable } from '../variables.js';

const P = M.pole;
const TELEMETRY = [M.pole, M.meter, M.power, M.ring];

/** Devices with at least one point in the reporting window, for one measurement. */
const reporting = (m: (typeof TELEMETRY)[number]) =>
  `SELECT count(${fld(m, 'seq')}) AS "devices" FROM (SELECT last(${fld(m, 'seq')}) AS ${fld(m, 'seq')} FROM ${from(m)} WHERE time > now() - ${REPORTING_WINDOW} GROUP BY ${tag(m, 'deviceId')})`;

const poleFilter = `${tag(P, 'deviceId')} =~ /^$pole$/`;

export function fieldEngineersDashboard(): Dashboard {
  return buildDashboard({
    uid: 'tsunagaru-field',
    title: 'Tsunagaru · Field engineers',
    description: 'Fleet health, offline devices, and the smart poles: 5G radio, cabinet temperature, power draw and door events.',
    tags: ['field-engineer'],
    from: 'now-24h',
    refresh: '1m',
    variables: [poleVariable()],
    sections: [
      {
        title: 'Fleet health',
        panels: [
          stat({
            title: `Devices reporting (last ${REPORTING_WINDOW})`,
            description: 'Devices with at least one telemetry point in the window, per device type.',
            w: 10, h: 5, noValue: '0',
            queries: TELEMETRY.map((m, i) => influxql(reporting(m), 'ABCD'[i]).alias(m.measurement)),
          }),
          stat({
            title: 'Active field alerts', description: 'Alerts for field engineers (offline, silent, 5G down, cabinet, door, batteries) that are active now.',
            w: 4, h: 5, noValue: '0', color: 'background', base: 'green', steps: [[1, 'orange']],
            queries: [influxql(activeAlertCount({ where: `${tag(M.alert, 'group')} = 'field'` }))],
          }),
          table({
            title: 'Devices offline', description: 'Active device-offline and device-silent alerts: the device sent its death (or its will fired) or went quiet for longer than its interval allows.',
            w: 10, h: 5, columns: ALERT_COLUMNS, noValue: 'All devices online',
            queries: [influxql(activeAlerts({ where: `${tag(M.alert, 'rule')} =~ /^device-(offline|silent)$/` })).table()],
          }),
          table({
            title: 'Last report per device (oldest first)', description: 'The newest telemetry point of every device in the last 7 days; the top rows are the devices to visit.',
            w: 24, h: 8, sortBy: { field: 'Time', desc: false },
            queries: [influxql(`SELECT last(${q('seq')}) AS ${q('seq')} FROM ${TELEMETRY.map(from).join(', ')} WHERE time > now() - 7d GROUP BY ${q('deviceId')}, ${q('type')}`).table()],
          }),
        ],
      },
      {
        title: 'Smart poles',
        panels: [
          stateTimeline({
            title: '5G radio', description: 'The 5G base station of each pole: up or down.',
            w: 12, h: 8, mappings: enumMappings(enumCodes(P, 'fiveG'), { up: 'green', down: 'red' }),
            queries: [influxql(`SELECT last(${fld(P, 'fiveG')}) FROM ${from(P)} WHERE $timeFilter AND ${poleFilter} GROUP BY time($__interval), ${tag(P, 'deviceId')} fill(previous)`).alias('$tag_deviceId')],
          }),
          timeseries({
            title: 'Cabinet temperature', description: 'Highest cabinet temperature per pole; electronics derate above 45 °C and fail above 55 °C.',
            w: 12, h: 8, unit: 'celsius', steps: [[45, 'orange'], [55, 'red']],
            queries: [influxql(`SELECT max(${fld(P, 'cabinetTempC')}) FROM ${from(P)} WHERE $timeFilter AND ${poleFilter} GROUP BY time($__interval), ${tag(P, 'deviceId')} fill(none)`).alias('$tag_deviceId')],
          }),
          stateTimeline({
            title: 'Cabinet door', description: 'Door open or closed, per pole (from the readings).',
            w: 12, h: 8, mappings: booleanMappings('open', 'closed'),
            queries: [influxql(`SELECT last(${fld(P, 'doorOpen')}) FROM ${from(P)} WHERE $timeFilter AND ${poleFilter} GROUP BY time($__interval), ${tag(P, 'deviceId')} fill(previous)`).alias('$tag_deviceId')],
          }),
          timeseries({
            title: 'Power draw', description: 'Mean power drawn by each pole (5G, Wi-Fi, signage, sensors).',
            w: 12, h: 8, unit: 'watt',
            queries: [influxql(`SELECT mean(${fld(P, 'powerW')}) FROM ${from(P)} WHERE $timeFilter AND ${poleFilter} GROUP BY time($__interval), ${tag(P, 'deviceId')} fill(none)`).alias('$tag_deviceId')],
          }),
          table({
            title: 'Door events', description: 'door_open / door_closed events sent by the poles, newest first.',
            w: 24, h: 8, sortBy: { field: 'Time', desc: true },
            queries: [influxql(`SELECT ${fld(M.event, 'seq')}, ${tag(M.event, 'deviceId')}, ${tag(M.event, 'event')}, ${tag(M.event, 'site')} FROM ${from(M.event)} WHERE $timeFilter AND ${tag(M.event, 'type')} = 'smart-pole' AND ${tag(M.event, 'event')} =~ /^door_(open|closed)$/ ORDER BY time DESC LIMIT 500`).table()],
          }),
        ],
      },
    ],
  });
}

function poleVariable() {
  return queryVariable('pole', 'Pole', `SHOW TAG VALUES FROM ${from(P)} WITH KEY = ${tag(P, 'deviceId')}`);
}
