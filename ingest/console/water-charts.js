// The water view's charts, drawn by uPlot (served from this origin as /console/uplot.js): time axes in
// Japan time, value axes with units, bars for volumes, lines for flows, a legend that reads values.
import uPlot from './uplot.js';

const DAY_S = 86400;
const jst = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Tokyo');
const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
const bars = (size = 0.6) => uPlot.paths.bars({ size: [size, 80] });
/** Legend values (uPlot calls a series' `value` with one raw value). */
const m3 = (u, v) => (v == null ? '–' : `${(v / 1000).toFixed(2)} m³`);

function draw(target, opts, data) {
  target.replaceChildren();
  const width = Math.max(320, Math.floor(target.getBoundingClientRect().width || target.parentElement.getBoundingClientRect().width) - 4);
  const fg = css('--fg', '#1b1f24');
  const grid = { stroke: css('--line', '#d9dde3'), width: 1 };
  const axis = (o) => ({ stroke: fg, grid, ticks: grid, ...o });
  return new uPlot({
    width, height: 230, tzDate: jst, cursor: { drag: { x: false, y: false } },
    ...opts,
    axes: [axis({ label: opts.xLabel ?? 'day (JST)' }), ...opts.axes.map(axis)],
  }, data, target);
}

/** A DMA's days: inlet and customers as lines, non-revenue water as bars (complete days) and hatched (not complete). */
export function dmaBalanceChart(target, days) {
  const x = days.map((d) => d.balance.from / 1000 + DAY_S / 2);
  const b = days.map((d) => d.balance);
  return draw(target, {
    scales: { x: { time: true, range: (u, min, max) => [min - DAY_S / 2, max + DAY_S / 2] } },
    series: [
      { label: 'day' },
      { label: 'inlet', stroke: css('--accent', '#0b5cad'), width: 2, value: m3 },
      { label: 'customers', stroke: css('--ok', '#137a3b'), width: 2, value: m3 },
      { label: 'non-revenue water', stroke: css('--bad', '#b42318'), fill: 'rgba(180,35,24,0.35)', paths: bars(), points: { show: false }, value: m3 },
      { label: 'non-revenue water (not complete)', stroke: css('--warn', '#9a6700'), fill: 'rgba(154,103,0,0.25)', dash: [4, 3], paths: bars(), points: { show: false }, value: m3 },
    ],
    axes: [{ label: 'm³ per day', size: 70, values: (u, vals) => vals.map((v) => (v / 1000).toFixed(1)) }],
  }, [x, b.map((v) => v.inletLitres), b.map((v) => (v.covered + v.estimated > 0 ? v.customerLitres : null)), b.map((v) => (v.complete ? v.nonRevenueLitres : null)), b.map((v) => (v.complete ? null : v.nonRevenueLitres))]);
}

/** A DMA's nights: minimum night flow (and the inlet's own minimum), coverage on a second scale. */
export function dmaNightChart(target, days) {
  const x = days.map((d) => d.night.from / 1000);
  const n = days.map((d) => d.night);
  const lph = (u, v) => (v == null ? '–' : `${v} L/h`);
  return draw(target, {
    scales: { pct: { range: [0, 100] } },
    series: [
      { label: 'night' },
      { label: 'minimum night flow', stroke: css('--bad', '#b42318'), width: 2, points: { size: 7 }, value: lph },
      { label: 'inlet minimum', stroke: css('--accent', '#0b5cad'), width: 1, dash: [5, 4], value: lph },
      { label: 'coverage', scale: 'pct', stroke: css('--muted', '#5b6470'), width: 1, value: (u, v) => (v == null ? '–' : `${v} %`) },
    ],
    axes: [{ label: 'L/h', size: 60 }, { scale: 'pct', side: 1, label: 'coverage %', size: 50, grid: { show: false } }],
  }, [x, n.map((v) => v.mnfLph), n.map((v) => v.inletMinFlowLph), n.map((v) => v.coveragePct)]);
}

/** A household's use per day or month as bars; months also show the month before and last year's. */
export function usageChart(target, interval, buckets) {
  const x = buckets.map((b) => (b.from + (b.to - b.from) / 2) / 1000);
  const litres = (u, v) => (v == null ? '–' : `${Math.round(v).toLocaleString()} L`);
  const series = [
    { label: interval },
    { label: 'used', stroke: css('--accent', '#0b5cad'), fill: 'rgba(11,92,173,0.45)', paths: bars(interval === 'month' ? 0.5 : 0.7), points: { show: false }, value: litres },
  ];
  const data = [x, buckets.map((b) => b.litres)];
  if (interval === 'month') {
    series.push({ label: 'month before', stroke: css('--muted', '#5b6470'), width: 2, dash: [5, 4], value: litres }, { label: 'same month last year', stroke: css('--warn', '#9a6700'), width: 2, points: { size: 7 }, value: litres });
    data.push(buckets.map((b) => b.previousLitres ?? null), buckets.map((b) => b.lastYearLitres ?? null));
  }
  const half = interval === 'month' ? 15 * DAY_S : DAY_S / 2;
  return draw(target, { xLabel: interval === 'month' ? 'month (JST)' : 'day (JST)', series, scales: { x: { time: true, range: (u, min, max) => [min - half, max + half] } }, axes: [{ label: 'litres', size: 70 }] }, data);
}
