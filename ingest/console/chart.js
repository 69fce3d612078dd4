// A dependency-free SVG line chart of one numeric reading over time. Points are { t, v } and, for
// aggregated buckets, { lo, hi } (min and max, drawn as a band); a gap longer than `gapMs` breaks the line.
const NS = 'http://www.w3.org/2000/svg';

export function lineChart(points, { label, unit = '', span, gapMs = Infinity } = {}) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 300 120');
  svg.setAttribute('role', 'img');
  const values = points.map((p) => p.v);
  if (points.length < 2) {
    svg.setAttribute('aria-label', `${label}: not enough samples for a chart${span ? ` in the last ${span}` : ' yet'}`);
    return svg;
  }
  const [t0, t1] = [points[0].t, points.at(-1).t];
  const all = points.flatMap((p) => [p.v, p.lo ?? p.v, p.hi ?? p.v]);
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const range = hi - lo || 1;
  const x = (t) => 30 + ((t - t0) / (t1 - t0 || 1)) * 265;
  const y = (v) => 105 - ((v - lo) / range) * 95;
  const runs = [];
  for (const [i, p] of points.entries()) {
    if (i === 0 || p.t - points[i - 1].t > gapMs) runs.push([]);
    runs.at(-1).push(p);
  }
  if (points.some((p) => p.lo !== undefined)) {
    for (const run of runs) {
      const band = document.createElementNS(NS, 'path');
      band.setAttribute('class', 'band');
      const top = run.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.hi).toFixed(1)}`).join('');
      const bottom = [...run].reverse().map((p) => `L${x(p.t).toFixed(1)},${y(p.lo).toFixed(1)}`).join('');
      band.setAttribute('d', `${top}${bottom}Z`);
      svg.append(band);
    }
  }
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', runs.map((run) => run.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('')).join(''));
  svg.append(path);
  for (const [v, yy] of [[hi, 12], [lo, 108]]) {
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('x', '0');
    text.setAttribute('y', String(yy));
    text.textContent = `${Number.isInteger(v) ? v : v.toFixed(1)}`;
    svg.append(text);
  }
  const fmt = (v) => (Number.isInteger(v) ? v : Number(v.toFixed(2)));
  const over = span ?? `${Math.round((t1 - t0) / 3600000)} h`;
  svg.setAttribute('aria-label', `${label} over the last ${over}: from ${fmt(values[0])} to ${fmt(values.at(-1))} ${unit}, range ${fmt(lo)} to ${fmt(hi)}`);
  return svg;
}
