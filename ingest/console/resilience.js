// Disaster view: base-station sites by time to dark (shortest first) and the Izu ring.
import { get } from './api.js';
import { el } from './format.js';
import { ringSvg } from './ring-svg.js';

export function duration(min) {
  if (min === null || min === undefined) return '–';
  const h = Math.floor(min / 60);
  return h >= 48 ? `${Math.round(min / 60)} h` : `${h} h ${String(Math.round(min % 60)).padStart(2, '0')} min`;
}

function siteRow(s) {
  const target = s.targetHours * 60;
  const pct = s.timeToDarkMin === null ? 0 : Math.min(100, (s.timeToDarkMin / Math.max(target, 1)) * 100);
  const tone = s.timeToDarkMin === null ? 'unknown' : s.timeToDarkMin < 60 ? 'bad' : s.timeToDarkMin < 360 ? 'warn' : 'ok';
  return el('tr', { 'data-device': s.deviceId, class: s.countingDown ? 'on-battery' : '' },
    el('td', {}, el('strong', {}, s.site ?? s.deviceId), s.island ? el('div', { class: 'hint' }, s.island) : null),
    el('td', { class: `ttd ${tone}` }, duration(s.timeToDarkMin),
      el('div', { class: 'bar', role: 'img', 'aria-label': `${Math.round(pct)} % of the ${s.targetHours} h target` }, el('span', { 'data-pct': String(Math.round(pct)) }))),
    el('td', {}, s.countingDown ? el('span', { class: 'status offline' }, 'on battery') : s.mains ?? '–'),
    el('td', {}, s.batterySocPct === null ? '–' : `${Math.round(s.batterySocPct)} %`),
    el('td', {}, s.loadA === null ? '–' : `${s.loadA} A`),
    el('td', {}, s.generator ?? '–'),
    el('td', {}, s.backhaul ?? '–'),
    el('td', {}, `${s.targetHours} h`, s.meetsTarget === false ? el('span', { class: 'below' }, ' below') : null));
}

export function resilienceView(root) {
  const summary = root.querySelector('#res-summary');
  const rows = root.querySelector('#site-rows');
  const ring = root.querySelector('#ring');
  const list = root.querySelector('#ring-list');
  return {
    async refresh() {
      const r = await get('/api/v1/resilience');
      const s = r.summary;
      summary.textContent = `${s.sites} sites · ${s.sitesOnBattery} on battery · ${s.sitesBelowTarget} below target · ${s.segmentsDown} ring segments down · ${s.islandsIsolated} islands isolated`;
      rows.replaceChildren(...(r.sites.length ? r.sites.map(siteRow) : [el('tr', {}, el('td', { colspan: '8', class: 'hint' }, 'No base-station sites provisioned.'))]));
      // Bar widths are set through the CSSOM (the CSP forbids inline style attributes).
      for (const span of rows.querySelectorAll('[data-pct]')) span.style.width = `${span.dataset.pct}%`;
      ring.replaceChildren(ringSvg(r.ring));
      list.replaceChildren(
        ...r.ring.islands.map((i) => el('li', { 'data-island': i.island, class: i.isolated ? 'isolated' : '' }, `${i.island}${i.gateway ? ' (gateway)' : ''}: `, el('strong', {}, i.isolated ? 'isolated' : 'connected'), i.isolated ? '' : ` via ${i.reachableGateways.join(', ')}`)),
        ...r.ring.segments.filter((x) => x.state !== 'up').map((x) => el('li', { 'data-segment': x.id }, `segment ${x.id}: `, el('strong', {}, x.state === 'down' ? 'cut' : x.state === 'unknown' ? 'not reported' : x.state))),
      );
    },
  };
}
