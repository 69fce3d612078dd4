// A dependency-free SVG line chart of one numeric reading over time.
const NS = 'http://www.w3.org/2000/svg';

export function lineChart(points, { label, unit = '' } = {}) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 300 120');
  svg.setAttribute('role', 'img');
  const values = points.map((p) => p.v);
  if (points.length < 2) {
    svg.setAttribute('aria-label', `${label}: not enough samples for a chart yet`);
    return svg;
  }
  const [t0, t1] = [points[0].t, points.at(-1).t];
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const span = hi - lo || 1;
  const x = (t) => 30 + ((t - t0) / (t1 - t0 || 1)) * 265;
  const y = (v) => 105 - ((v - lo) / span) * 95;
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(''));
  svg.append(path);
  for (const [v, yy] of [[hi, 12], [lo, 108]]) {
    const text = document.createElementNS(NS, 'text');
    text.setAttribute('x', '0');
    text.setAttribute('y', String(yy));
    text.textContent = `${Number.isInteger(v) ? v : v.toFixed(1)}`;
    svg.append(text);
  }
  svg.setAttribute('aria-label', `${label} over the last ${Math.round((t1 - t0) / 3600000)} h: from ${values[0]} to ${values.at(-1)} ${unit}, range ${lo} to ${hi}`);
  return svg;
}
