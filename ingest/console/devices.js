// Device grid (filterable by type, status and text) and the detail panel of one device.
import { get } from './api.js';
import { lineChart } from './chart.js';
import { ago, el, unit, value, where } from './format.js';

/** Rows drawn at once: a laptop stays fast with thousands of devices; filters narrow the rest. */
const MAX_ROWS = 500;
/** Readings worth a chart, per device type (numeric, and what an engineer looks at first). */
const CHART_FIELD = { 'bs-power': 'batterySocPct', 'water-meter': 'flowLph', 'smart-pole': 'airTempC' };
const HOUR = 3_600_000;
/**
 * The chart's ranges: the last day from the samples themselves; longer ranges per hour or per day from
 * the rollups (GET …/readings?interval=…), the mean drawn with the min–max band.
 */
const RANGES = [
  { id: '24h', label: '24 h', ms: 24 * HOUR },
  { id: '7d', label: '7 d', ms: 7 * 24 * HOUR, interval: '1h', stepMs: HOUR },
  { id: '30d', label: '30 d', ms: 30 * 24 * HOUR, interval: '1h', stepMs: HOUR },
  { id: '1y', label: '1 y', ms: 365 * 24 * HOUR, interval: '1d', stepMs: 24 * HOUR },
];

/** The chart's points over `range`, ending now. */
async function chartPoints(id, field, range) {
  const path = `/api/v1/devices/${encodeURIComponent(id)}/readings`;
  const to = Date.now();
  if (!range.interval) {
    const { readings } = await get(`${path}?from=${to - range.ms}&to=${to}&limit=10000`);
    return readings.filter((r) => typeof r[field] === 'number').map((r) => ({ t: r.ts, v: r[field] }));
  }
  const { points } = await get(`${path}?from=${to - range.ms}&to=${to}&interval=${range.interval}&agg=mean,min,max&reading=${field}`);
  return points.filter((p) => p.values[field]?.mean != null).map((p) => ({ t: p.t, v: p.values[field].mean, lo: p.values[field].min, hi: p.values[field].max }));
}

export function devicesView(root) {
  const rows = root.querySelector('#device-rows');
  const detail = root.querySelector('#device-detail');
  const count = root.querySelector('#device-count');
  const more = root.querySelector('#device-more');
  const filters = { type: root.querySelector('#filter-type'), status: root.querySelector('#filter-status'), text: root.querySelector('#filter-text') };
  let devices = [];
  let selected = null;

  function matches(d) {
    if (filters.type.value && d.type !== filters.type.value) return false;
    if (filters.status.value && (d.status.online ? 'online' : 'offline') !== filters.status.value) return false;
    const q = filters.text.value.trim().toLowerCase();
    return !q || d.id.toLowerCase().includes(q) || Object.values(d.attributes ?? {}).some((v) => String(v).toLowerCase().includes(q));
  }

  function render() {
    const shown = devices.filter(matches);
    count.textContent = `(${shown.length} of ${devices.length})`;
    const frag = document.createDocumentFragment();
    for (const d of shown.slice(0, MAX_ROWS)) {
      const online = d.status.online;
      frag.append(
        el('tr', { tabindex: '0', 'data-id': d.id, 'aria-selected': String(d.id === selected), onclick: () => select(d.id), onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), select(d.id)) },
          el('td', {}, el('code', {}, d.id)), el('td', {}, d.type), el('td', {}, where(d.attributes)),
          el('td', {}, el('span', { class: `status ${online ? 'online' : 'offline'}` }, online ? 'online' : 'offline')),
          el('td', { title: d.status.lastSeen ? new Date(d.status.lastSeen).toISOString() : '' }, ago(d.status.lastSeen))),
      );
    }
    rows.replaceChildren(frag);
    more.hidden = shown.length <= MAX_ROWS;
    more.textContent = `Showing the first ${MAX_ROWS}; narrow the filters to see the rest.`;
  }

  async function select(id) {
    selected = id;
    for (const tr of rows.querySelectorAll('tr')) tr.setAttribute('aria-selected', String(tr.dataset.id === id));
    detail.replaceChildren(el('p', { class: 'hint' }, `Loading ${id}…`));
    const d = await get(`/api/v1/devices/${encodeURIComponent(id)}`);
    const latest = Object.entries(d.latest ?? {});
    const field = CHART_FIELD[d.type];
    const chart = el('div', { class: 'chart-box' });
    const picker = el('div', { class: 'ranges', role: 'group', 'aria-label': 'Chart range' });
    const heading = el('h4', {}, field ?? '');
    async function show(range) {
      for (const b of picker.children) b.setAttribute('aria-pressed', String(b.dataset.range === range.id));
      heading.textContent = `${field} (last ${range.label}${range.interval ? `, mean per ${range.interval === '1d' ? 'day' : 'hour'} with min–max` : ''})`;
      const points = await chartPoints(id, field, range);
      if (selected === id) chart.replaceChildren(lineChart(points, { label: field, unit: unit(field), span: range.label, gapMs: range.stepMs ? range.stepMs * 1.5 : Infinity }));
    }
    for (const r of RANGES) picker.append(el('button', { type: 'button', 'data-range': r.id, 'aria-pressed': 'false', onclick: () => void show(r) }, r.label));
    if (field) await show(RANGES[0]);
    detail.replaceChildren(
      el('h3', {}, d.id),
      el('p', {}, `${d.type} · `, el('span', { class: `status ${d.status.online ? 'online' : 'offline'}` }, d.status.online ? 'online' : 'offline'), ` · last seen ${ago(d.status.lastSeen)}`),
      el('dl', {},
        ...Object.entries(d.attributes ?? {}).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]),
        el('dt', {}, 'firmware'), el('dd', {}, d.status.fw ?? '–'), el('dt', {}, 'boot'), el('dd', {}, String(d.status.boot ?? '–'))),
      el('h4', {}, 'Latest readings'),
      latest.length === 0 ? el('p', { class: 'hint' }, 'No readings yet.') : el('dl', { 'data-testid': 'latest' }, ...latest.flatMap(([k, r]) => [el('dt', {}, k), el('dd', { title: new Date(r.ts).toISOString() }, value(k, r.value), r.source === 'lorawan-status' ? ' (from the LoRaWAN network server)' : '')])),
      ...(field ? [heading, picker, chart] : []),
    );
  }

  for (const f of Object.values(filters)) f.addEventListener('input', render);

  return {
    async refresh() {
      devices = (await get('/api/v1/devices')).devices;
      render();
    },
    select,
  };
}
