// Water view: DMA balances over chosen days (coverage, complete or not), a DMA's days and nights as
// charts, a household's use per day or month with month-on-month and year-on-year, leaks grouped by meter,
// and the welfare watch list (見守り) — the last only for roles that may see welfare data; for others it
// is neither fetched nor drawn.
import { get } from './api.js';
import { ago, clock, el } from './format.js';
import { dmaBalanceChart, dmaNightChart, usageChart } from './water-charts.js';

const DAY = 86_400_000;
const LEAK_RULES = new Set(['water-leak', 'water-burst', 'water-backflow', 'meter-alarm', 'dma-night-flow', 'water-usage-rise']);
const m3 = (litres) => (litres === null || litres === undefined ? '–' : `${(litres / 1000).toFixed(2)} m³`);
const jstDate = (ts) => new Date(ts + 9 * 3_600_000).toISOString().slice(0, 10);
const startOf = (date) => Date.parse(`${date}T00:00:00+09:00`);
const pct = (now, before) => (before ? Math.round((now / before - 1) * 100) : null);
const SEEN_BY = { meter: "the meter's own alarm", rule: 'the leak rule', both: "the meter's alarm and the leak rule" };

function change(now, before) {
  const p = now === null || before === null || before === undefined ? null : pct(now, before);
  if (p === null) return el('span', { class: 'hint' }, '–');
  return el('span', { class: p >= 50 ? 'up' : p < 0 ? 'down' : '' }, `${p > 0 ? '+' : ''}${p} %`);
}

function dmaRow(d, onChart) {
  const why = d.incomplete.join('; ');
  return el('tr', { 'data-dma': d.dma },
    el('td', {}, el('strong', {}, d.dma)),
    el('td', {}, `${d.covered + d.estimated} / ${d.connections}`, d.estimated ? el('div', { class: 'hint' }, `${d.estimated} estimated (no reading past the end yet)`) : null, d.missing ? el('div', { class: 'bad' }, `${d.missing} missing`) : null),
    el('td', {}, m3(d.customerLitres), d.estimatedPct ? el('div', { class: 'hint' }, `${d.estimatedPct} % estimated`) : null),
    el('td', {}, d.inletMeters === 0 ? el('span', { class: 'hint' }, 'no inlet meter') : m3(d.inletLitres)),
    el('td', { class: d.nonRevenuePct > 20 ? 'bad' : d.nonRevenuePct > 10 ? 'warn' : '' }, d.nonRevenueLitres === null ? '–' : `${m3(d.nonRevenueLitres)} (${d.nonRevenuePct} %)`),
    el('td', {}, d.complete ? el('span', { class: 'complete' }, 'complete') : el('span', { class: 'incomplete', title: why }, `not complete: ${why}`)),
    el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => onChart(d.dma), 'aria-label': `Chart of DMA ${d.dma} per day` }, 'Per day')));
}

/** One item per meter (or DMA), its alerts beneath: one leak is one line, however many see it. */
function leakItems(alerts) {
  const byMeter = new Map();
  for (const a of alerts) byMeter.set(a.deviceId, [...(byMeter.get(a.deviceId) ?? []), a]);
  return [...byMeter].sort(([, a], [, b]) => Math.max(...b.map((x) => x.raisedAt)) - Math.max(...a.map((x) => x.raisedAt))).map(([id, list]) =>
    el('li', { 'data-device': id }, el('code', {}, id),
      el('ul', {}, ...list.map((a) => el('li', { 'data-id': a.id }, el('span', { class: `sev sev-${a.severity}` }, a.rule), ` ${a.message}`,
        a.detail?.seenBy ? el('span', { class: 'hint' }, ` — seen by ${SEEN_BY[a.detail.seenBy] ?? a.detail.seenBy}`) : null,
        el('span', { class: 'hint' }, ` (observed ${clock(a.observedAt ?? a.raisedAt)})`))))));
}

export function waterView(root, store, session) {
  const $ = (s) => root.querySelector(s);
  const [fromInput, toInput] = [$('#water-from'), $('#water-to')];
  const welfare = $('#welfare');
  let dma = null;
  let charts = [];
  const range = () => {
    const today = jstDate(Date.now());
    if (!toInput.value) toInput.value = today;
    if (!fromInput.value) fromInput.value = toInput.value;
    return { from: startOf(fromInput.value), to: Math.min(startOf(toInput.value) + DAY, Date.now()) };
  };
  /** Charts show at least two weeks up to the chosen end, for context. */
  const chartRange = () => {
    const { from, to } = range();
    return { from: Math.min(from, startOf(toInput.value) - 13 * DAY), to: startOf(toInput.value) + DAY };
  };
  const drop = () => {
    for (const c of charts) c.destroy();
    charts = [];
  };

  function renderLeaks() {
    const items = store.list().filter((a) => LEAK_RULES.has(a.rule));
    $('#leak-list').replaceChildren(...(items.length ? leakItems(items) : [el('li', { class: 'hint' }, 'No leaks, bursts, night-flow or usage notices.')]));
  }
  store.subscribe(renderLeaks);

  async function renderDma() {
    if (!dma) return;
    const { from, to } = chartRange();
    const { days } = await get(`/api/v1/water/dmas/${encodeURIComponent(dma)}/daily?from=${from}&to=${to}`);
    $('#dma-chart-title').textContent = `DMA ${dma} per day`;
    const open = days.filter((d) => !d.balance.complete).length;
    $('#dma-chart-hint').textContent = `${days.length} days; ${open ? `${open} not complete (a meter had no reading around a day's end, or it is not over yet)` : 'every day complete'}.`;
    drop();
    charts.push(dmaBalanceChart($('#dma-balance-chart'), days), dmaNightChart($('#dma-night-chart'), days));
  }

  async function renderUsage() {
    const id = $('#usage-meter').value.trim();
    const interval = $('#usage-interval').value;
    const target = $('#usage-chart');
    if (!id) return;
    const { from: dayFrom, to } = chartRange();
    const from = interval === 'month' ? Date.parse(`${jstDate(to - DAY).slice(0, 7)}-01T00:00:00+09:00`) - 365 * DAY : dayFrom;
    let body;
    try {
      body = await get(`/api/v1/water/meters/${encodeURIComponent(id)}/usage?interval=${interval}&from=${from}&to=${to}`);
    } catch (err) {
      $('#usage-hint').textContent = `No usage for "${id}": ${err.message}`;
      target.replaceChildren();
      return;
    }
    const known = body.buckets.filter((b) => b.litres !== null);
    $('#usage-hint').textContent = known.length ? `${id}: ${Math.round(known.reduce((s, b) => s + b.litres, 0)).toLocaleString()} L over ${known.length} ${interval}s${known.some((b) => b.estimated) ? ' (some estimated: the meter had not read past the end yet)' : ''}.` : `${id}: no readings in this range.`;
    usageChart(target, interval, body.buckets);
    const compare = $('#usage-compare');
    compare.hidden = interval !== 'month';
    if (interval === 'month') {
      $('#usage-rows').replaceChildren(...body.buckets.filter((b) => b.litres !== null).slice(-6).reverse().map((b) =>
        el('tr', {}, el('td', {}, b.period), el('td', {}, `${Math.round(b.litres).toLocaleString()} L`), el('td', {}, change(b.litres, b.previousLitres)), el('td', {}, change(b.litres, b.lastYearLitres)))));
    }
  }

  async function renderWelfare() {
    if (!session.me?.canSeeWelfare) {
      welfare.hidden = true;
      $('#welfare-rows').replaceChildren();
      return;
    }
    welfare.hidden = false;
    const { devices } = await get('/api/v1/devices?type=water-meter');
    const concerns = new Map(store.list().filter((a) => a.rule.startsWith('welfare')).map((a) => [a.deviceId, a]));
    const enrolled = devices.filter((d) => d.attributes?.welfareWatch === true);
    $('#welfare-rows').replaceChildren(
      ...(enrolled.length
        ? enrolled.map((d) => {
            const alert = concerns.get(d.id);
            return el('tr', { 'data-id': d.id, class: alert ? 'attention' : '' },
              el('td', {}, el('code', {}, d.id)), el('td', {}, d.attributes.dma ?? '–'), el('td', {}, ago(d.status.lastSeen)),
              el('td', {}, alert ? el('strong', { class: 'bad' }, alert.message) : 'water used normally'));
          })
        : [el('tr', {}, el('td', { colspan: '4', class: 'hint' }, 'No household enrolled in the welfare watch.'))]),
    );
  }

  async function meterList() {
    if ($('#usage-meters').children.length) return;
    const { devices } = await get('/api/v1/devices?type=water-meter');
    $('#usage-meters').replaceChildren(...devices.filter((d) => d.attributes?.site !== 'dma-inlet').map((d) => el('option', { value: d.id }, d.attributes?.dma ?? '')));
  }

  const view = {
    async refresh() {
      if (!session.me?.canSeeWelfare) welfare.hidden = true;
      const { from, to } = range();
      const { dmas } = await get(`/api/v1/water/dmas?from=${from}&to=${to}`);
      $('#dma-rows').replaceChildren(...(dmas.length ? dmas.map((d) => dmaRow(d, (name) => { dma = name; void renderDma(); })) : [el('tr', {}, el('td', { colspan: '7', class: 'hint' }, 'No water meters with a DMA.'))]));
      if (!dma && dmas.some((d) => d.inletMeters > 0)) dma = dmas.find((d) => d.inletMeters > 0).dma;
      renderLeaks();
      await Promise.all([renderDma(), renderUsage(), renderWelfare(), meterList()]);
    },
  };
  for (const input of [fromInput, toInput]) input.addEventListener('change', () => void view.refresh());
  for (const b of root.querySelectorAll('[data-days]')) b.addEventListener('click', () => {
    toInput.value = jstDate(Date.now());
    fromInput.value = jstDate(startOf(toInput.value) - (Number(b.dataset.days) - 1) * DAY);
    void view.refresh();
  });
  $('#usage-meter').addEventListener('change', () => void renderUsage());
  $('#usage-interval').addEventListener('change', () => void renderUsage());
  return view;
}
