// Water view: DMA balance (non-revenue water, night flow), leaks, and the welfare watch list (見守り) —
// the last only for roles that may see welfare data; for others it is neither fetched nor drawn.
import { get } from './api.js';
import { ago, el } from './format.js';

const LEAK_RULES = new Set(['water-leak', 'water-burst', 'water-backflow', 'meter-alarm', 'dma-night-flow']);
const m3 = (litres) => (litres === null || litres === undefined ? '–' : `${(litres / 1000).toFixed(2)} m³`);

function dmaRow(d) {
  return el('tr', { 'data-dma': d.dma },
    el('td', {}, el('strong', {}, d.dma)),
    el('td', {}, `${d.reporting} / ${d.meters}`),
    el('td', {}, m3(d.customerLitres)),
    el('td', {}, d.inletLitres === null ? el('span', { class: 'hint' }, 'no inlet meter') : m3(d.inletLitres)),
    el('td', { class: d.nonRevenuePct > 20 ? 'bad' : d.nonRevenuePct > 10 ? 'warn' : '' }, d.nonRevenueLitres === null ? '–' : `${m3(d.nonRevenueLitres)} (${d.nonRevenuePct} %)`),
    el('td', {}, d.nightFlowLph === null ? '–' : `${d.nightFlowLph} L/h`),
    el('td', { class: d.leaks ? 'bad' : '' }, String(d.leaks)));
}

export function waterView(root, store, session) {
  const dmaRows = root.querySelector('#dma-rows');
  const leaks = root.querySelector('#leak-list');
  const welfare = root.querySelector('#welfare');
  const welfareRows = root.querySelector('#welfare-rows');

  function renderLeaks() {
    const items = store.list().filter((a) => LEAK_RULES.has(a.rule)).sort((a, b) => b.raisedAt - a.raisedAt);
    leaks.replaceChildren(...(items.length ? items.map((a) => el('li', { 'data-id': a.id }, el('span', { class: `sev sev-${a.severity}` }, a.rule), ' ', el('code', {}, a.deviceId), ` — ${a.message} (${ago(a.raisedAt)})`)) : [el('li', { class: 'hint' }, 'No leaks, bursts or night-flow alerts.')]));
  }
  store.subscribe(renderLeaks);

  async function renderWelfare() {
    if (!session.me?.canSeeWelfare) {
      welfare.hidden = true;
      welfareRows.replaceChildren();
      return;
    }
    welfare.hidden = false;
    const { devices } = await get('/api/v1/devices?type=water-meter');
    const watching = new Map(store.list().filter((a) => a.rule === 'welfare-watch').map((a) => [a.deviceId, a]));
    const enrolled = devices.filter((d) => d.attributes?.welfareWatch === true);
    welfareRows.replaceChildren(
      ...(enrolled.length
        ? enrolled.map((d) => {
            const alert = watching.get(d.id);
            return el('tr', { 'data-id': d.id, class: alert ? 'attention' : '' },
              el('td', {}, el('code', {}, d.id)), el('td', {}, d.attributes.dma ?? '–'), el('td', {}, ago(d.status.lastSeen)),
              el('td', {}, alert ? el('strong', { class: 'bad' }, alert.message) : 'water used normally'));
          })
        : [el('tr', {}, el('td', { colspan: '4', class: 'hint' }, 'No household enrolled in the welfare watch.'))]),
    );
  }

  return {
    async refresh() {
      if (!session.me?.canSeeWelfare) welfare.hidden = true;
      const { dmas } = await get('/api/v1/water/dmas');
      dmaRows.replaceChildren(...(dmas.length ? dmas.map(dmaRow) : [el('tr', {}, el('td', { colspan: '7', class: 'hint' }, 'No water meters with a DMA.'))]));
      renderLeaks();
      await renderWelfare();
    },
  };
}
