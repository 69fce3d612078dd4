/** The water bureau: consumption by DMA, night flow against its baseline, leaks, meter alarms, non-revenue water. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { TypeMathBuilder } from '@grafana/grafana-foundation-sdk/expr';
import { activeAlerts, ALERT_COLUMNS } from '../alert-queries.js';
import { DEFAULT_ALERT_RULES } from '@tsunagaru/ingest';
import { DMA_INLET_SITE, NIGHT_BUCKET, NIGHT_DAY, QUARTER } from '../conventions.js';
import { EXPRESSION_DATASOURCE, influxql } from '../influxql.js';
import { buildDashboard } from '../layout.js';
import { stat, table, timeseries } from '../panels.js';
import { bit, flagBits, fld, from, M, tag } from '../schema-names.js';
import { queryVariable } from '../variables.js';

const W = M.meter;
const inDma = `${tag(W, 'dma')} =~ /^$dma$/`;
const customers = `${tag(W, 'site')} != '${DMA_INLET_SITE}'`;
const inlets = `${tag(W, 'site')} = '${DMA_INLET_SITE}'`;

/**
 * Litres used per DMA: per bucket, the difference of each meter's cumulative index between buckets; over
 * the whole range (bucket null), each meter's index spread (its last minus its first reading in range).
 */
function volume(meters: string, bucket: string | null): string {
  const filter = `WHERE $timeFilter AND ${inDma} AND ${meters}`;
  const perMeter = bucket
    ? `SELECT non_negative_difference(last(${fld(W, 'indexL')})) AS "litres" FROM ${from(W)} ${filter} GROUP BY time(${bucket}), ${tag(W, 'deviceId')}, ${tag(W, 'dma')}`
    : `SELECT spread(${fld(W, 'indexL')}) AS "litres" FROM ${from(W)} ${filter} GROUP BY ${tag(W, 'deviceId')}, ${tag(W, 'dma')}`;
  const group = bucket ? `time(${bucket}), ${tag(W, 'dma')} fill(0)` : tag(W, 'dma');
  return `SELECT sum("litres") AS "litres" FROM (${perMeter}) WHERE $timeFilter GROUP BY ${group}`;
}

/** Litres per quarter-hour of the DMA's `meters`, summed over them (each meter's index difference). */
const quarters = (meters: string) =>
  `SELECT sum("l") AS "l" FROM (SELECT non_negative_difference(last(${fld(W, 'indexL')})) AS "l" FROM ${from(W)} WHERE $timeFilter AND ${inDma} AND ${meters} GROUP BY ${QUARTER}, ${tag(W, 'deviceId')}, ${tag(W, 'dma')}) WHERE $timeFilter GROUP BY ${QUARTER}, ${tag(W, 'dma')}`;
/** Per night (02:00–04:00 JST, see conventions.ts): the inlet's lowest quarter-hour flow, L/h. */
const inletMinimum = `SELECT first("lph") AS "inlet" FROM (SELECT min("l") / 0.25 AS "lph" FROM (${quarters(inlets)}) WHERE $timeFilter GROUP BY ${NIGHT_BUCKET}, ${tag(W, 'dma')}) WHERE $timeFilter GROUP BY ${NIGHT_DAY}, ${tag(W, 'dma')}`;
/** Per night: the customers' mean flow over the window, L/h. */
const customersAtNight = `SELECT first("lph") AS "customers" FROM (SELECT sum("l") / 2 AS "lph" FROM (${quarters(customers)}) WHERE $timeFilter GROUP BY ${NIGHT_BUCKET}, ${tag(W, 'dma')}) WHERE $timeFilter GROUP BY ${NIGHT_DAY}, ${tag(W, 'dma')}`;
/** The share of the customers' night use taken as legitimate: the alert rules' default (water.night.legitimateUsePct). */
const LEGITIMATE = DEFAULT_ALERT_RULES.water.night.legitimateUsePct / 100;

const math = (refId: string, expression: string) => new TypeMathBuilder().datasource({ ...EXPRESSION_DATASOURCE }).refId(refId).expression(expression);

export function waterBureauDashboard(): Dashboard {
  const flags = Object.keys(flagBits(W, 'alarms'));
  return buildDashboard({
    uid: 'tsunagaru-water',
    title: 'Tsunagaru · Water bureau',
    description: 'Consumption by district metered area (DMA), minimum night flow against its baseline, leaks, meter alarms and non-revenue water. Welfare watch data is never shown here.',
    tags: ['water-bureau'],
    from: 'now-7d',
    refresh: '5m',
    variables: [queryVariable('dma', 'DMA', `SHOW TAG VALUES FROM ${from(W)} WITH KEY = ${tag(W, 'dma')}`)],
    sections: [
      {
        title: 'Consumption',
        panels: [
          timeseries({
            title: 'Consumption by DMA', description: `Litres used by the customer meters of each DMA per interval (differences of the cumulative index; inlet meters, site "${DMA_INLET_SITE}", left out).`,
            w: 16, h: 8, unit: 'litre', bars: true, stacked: true, interval: '15m',
            queries: [influxql(volume(customers, '$__interval')).alias('$tag_dma')],
          }),
          stat({
            title: 'Consumption over the range', description: 'Litres used by the customer meters of each DMA over the chosen time range.',
            w: 8, h: 8, unit: 'litre', calc: 'sum',
            queries: [influxql(volume(customers, null)).alias('$tag_dma')],
          }),
        ],
      },
      {
        title: 'Night flow',
        panels: [
          timeseries({
            title: 'Minimum night flow at the inlet', description: `Per night, the ingest's definition: the inlet's lowest 15-minute flow between 02:00 and 04:00 JST (A), less ${LEGITIMATE * 100} % of the customers' night consumption as legitimate night use (B), gives the minimum night flow (C). Always the last 30 days. The alert engine judges it per connection against the DMA's learned baseline (table beside).`,
            w: 16, h: 8, unit: 'L/h', timeFrom: '30d',
            queries: [
              influxql(inletMinimum, 'A').alias('$tag_dma inlet minimum'),
              influxql(customersAtNight, 'B').alias('$tag_dma customers at night').hide(true),
              math('C', `$A - $B * ${LEGITIMATE}`),
            ],
          }),
          table({
            title: 'DMA night flow alerts', description: 'Active dma-night-flow alerts from the alert engine (night flow above the learned or configured baseline).',
            w: 8, h: 8, columns: ALERT_COLUMNS, noValue: 'No DMA above its baseline',
            queries: [influxql(activeAlerts({ where: `${tag(M.alert, 'rule')} = 'dma-night-flow'` })).table()],
          }),
        ],
      },
      {
        title: 'Leaks and meter alarms',
        panels: [
          table({
            title: 'Meters reporting a leak', description: 'Meters whose latest alarm flags include "leak" (no continuous hour without flow in the last 24 h).',
            w: 8, h: 8, noValue: 'No leaks reported',
            queries: [influxql(`SELECT * FROM (SELECT last(${fld(W, 'alarms')}) & ${bit(W, 'alarms', 'leak')} AS "leak", last(${fld(W, 'flowLph')}) AS ${fld(W, 'flowLph')} FROM ${from(W)} WHERE time > now() - 1d AND ${inDma} GROUP BY ${tag(W, 'deviceId')}, ${tag(W, 'dma')}) WHERE "leak" > 0`).table()],
          }),
          timeseries({
            title: 'Meter alarms by flag', description: 'Readings carrying each alarm flag, per interval.',
            w: 16, h: 8, bars: true, stacked: true, interval: '15m',
            queries: flags.map((flag, i) => influxql(`SELECT count(${fld(W, 'alarms')}) FROM ${from(W)} WHERE $timeFilter AND ${inDma} AND (${fld(W, 'alarms')} & ${bit(W, 'alarms', flag)}) > 0 GROUP BY time($__interval) fill(0)`, String.fromCharCode(65 + i)).alias(flag)),
          }),
          table({
            title: 'Water alerts', description: 'Active alerts of the water group: leak, burst, backflow, battery, meter alarms, night flow.',
            w: 24, h: 7, columns: ALERT_COLUMNS, noValue: 'No active water alerts',
            queries: [influxql(activeAlerts({ where: `${tag(M.alert, 'group')} = 'water'` })).table()],
          }),
        ],
      },
      {
        title: 'Non-revenue water',
        panels: [
          timeseries({
            title: 'Inlet vs customer volume per hour', description: `Inlet (bulk) meters (site "${DMA_INLET_SITE}") against the sum of the DMA's customer meters; the difference is non-revenue water (leaks, theft, metering error).`,
            w: 16, h: 8, unit: 'litre',
            queries: [influxql(volume(inlets, '1h'), 'A').alias('$tag_dma inlet'), influxql(volume(customers, '1h'), 'B').alias('$tag_dma customers'), math('C', '$A - $B')],
          }),
          stat({
            title: 'Non-revenue water share', description: 'Per DMA over the time range: (inlet − customers) / inlet.',
            w: 8, h: 8, unit: 'percent', steps: [[10, 'orange'], [20, 'red']],
            queries: [influxql(volume(inlets, null), 'A').hide(true), influxql(volume(customers, null), 'B').hide(true), math('C', '($A - $B) / $A * 100')],
          }),
        ],
      },
    ],
  });
}
