// Disaster view: base-station sites by time to dark (shortest first, counted down between readings) with
// the controller's and our estimate side by side, and the Izu ring. What rests on old data says so.
import { get } from './api.js';
import { el } from './format.js';
import { ringSvg } from './ring-svg.js';

/** "4 min", "2 h 10 min": the age of a piece of data. */
export function age(sec) {
  if (sec === null || sec === undefined) return 'no data';
  if (sec < 90) return `${sec} s`;
  if (sec < 5400) return `${Math.round(sec / 60)} min`;
  return `${Math.floor(sec / 3600)} h ${String(Math.round((sec % 3600) / 60)).padStart(2, '0')} min`;
}

export function duration(min) {
  if (min === null || min === undefined) return '–';
  const h = Math.floor(min / 60);
  return h >= 48 ? `${Math.round(min / 60)} h` : `${h} h ${String(Math.round(min % 60)).padStart(2, '0')} min`;
}

function siteRow(s) {
  const target = s.targetHours * 60;
  const pct = s.timeToDarkMin === null ? 0 : Math.min(100, (s.timeToDarkMin / Math.max(target, 1)) * 100);
  const tone = s.timeToDarkMin === null ? 'unknown' : s.timeToDarkMin < 60 ? 'bad' : s.timeToDarkMin < 360 ? 'warn' : 'ok';
  const both = s.controllerBatteryMin !== null && s.computedBatteryMin !== null && s.computedBatteryMin !== undefined;
  return el('tr', { 'data-device': s.deviceId, class: [s.countingDown ? 'on-battery' : '', s.stale ? 'stale-row' : ''].filter(Boolean).join(' ') },
    el('td', {}, el('strong', {}, s.site ?? s.deviceId), el('div', { class: 'hint' }, [s.island, s.district].filter(Boolean).join(' · '))),
    el('td', { class: `ttd ${tone}` }, s.presumedDark ? el('span', { class: 'presumed' }, 'presumed dark') : s.countingDown && s.backhaul === 'down' ? el('span', { class: 'presumed' }, 'dark') : duration(s.timeToDarkMin),
      el('div', { class: 'bar', role: 'img', 'aria-label': `${Math.round(pct)} % of the ${s.targetHours} h target` }, el('span', { 'data-pct': String(Math.round(pct)) })),
      s.countingDown && s.silent && !s.presumedDark ? el('div', { class: 'stale' }, `counted down: silent ${age(s.dataAgeSec)}`) : null),
    el('td', { class: 'src' },
      both ? el('div', {}, `controller ${duration(s.controllerBatteryMin)}`) : s.controllerBatteryMin !== null && s.controllerBatteryMin !== undefined ? el('div', {}, `controller ${duration(s.controllerBatteryMin)}`) : null,
      s.computedBatteryMin !== null && s.computedBatteryMin !== undefined ? el('div', {}, `computed ${duration(s.computedBatteryMin)}`) : null,
      s.generatorMin ? el('div', {}, `+ generator ${duration(s.generatorMin)}`) : null),
    el('td', {}, s.countingDown ? el('span', { class: 'status offline' }, 'on battery') : s.mains ?? '–'),
    el('td', {}, s.batterySocPct === null ? '–' : `${Math.round(s.batterySocPct)} %`),
    el('td', {}, s.loadA === null ? '–' : `${s.loadA} A`),
    el('td', {}, s.generator ?? '–'),
    el('td', {}, s.backhaul ?? '–'),
    el('td', {}, `${s.targetHours} h`, s.meetsTarget === false ? el('span', { class: 'below' }, ' below') : null),
    el('td', {}, s.stale ? el('span', { class: 'stale' }, `${age(s.dataAgeSec)} old`) : el('span', { class: 'hint' }, age(s.dataAgeSec))));
}

function islandItem(i) {
  const state = i.connectivity ?? (i.isolated ? 'isolated' : 'connected');
  const text = state === 'isolated' ? 'isolated' : state === 'connected' ? 'connected' : 'not known';
  return el('li', { 'data-island': i.island, class: state === 'isolated' ? 'isolated' : state === 'unknown' ? 'stale-item' : '' },
    `${i.island}${i.gateway ? ' (gateway)' : ''}: `, el('strong', {}, text),
    state === 'connected' ? ` via ${i.reachableGateways.join(', ')}` : state === 'unknown' ? el('span', { class: 'stale' }, ` no fresh report of its segments (${age(i.dataAgeSec)} old)`) : '');
}

function segmentItem(x) {
  const word = x.state === 'unknown' ? (x.lastKnownState === 'down' ? `last known cut, no fresh report (${age(x.dataAgeSec)} old)` : `not reported for ${age(x.dataAgeSec)}`)
    : x.cause === 'board-fault' ? 'board fault (cable intact)' : x.state === 'down' ? 'cut' : x.state;
  return el('li', { 'data-segment': x.id, class: x.stale ? 'stale-item' : '' }, `segment ${x.id}: `, el('strong', {}, word));
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
      summary.textContent = `${s.sites} sites · ${s.sitesOnBattery} on battery · ${s.sitesBelowTarget} below target${s.sitesPresumedDark ? ` · ${s.sitesPresumedDark} presumed dark` : ''}${s.sitesStale ? ` · ${s.sitesStale} with old data` : ''} · ${s.segmentsDown} ring segments down · ${s.islandsIsolated} islands isolated${s.islandsUnknown ? ` · ${s.islandsUnknown} islands not known` : ''}`;
      rows.replaceChildren(...(r.sites.length ? r.sites.map(siteRow) : [el('tr', {}, el('td', { colspan: '10', class: 'hint' }, 'No base-station sites provisioned.'))]));
      // Bar widths are set through the CSSOM (the CSP forbids inline style attributes).
      for (const span of rows.querySelectorAll('[data-pct]')) span.style.width = `${span.dataset.pct}%`;
      ring.replaceChildren(ringSvg(r.ring));
      list.replaceChildren(...r.ring.islands.map(islandItem), ...r.ring.segments.filter((x) => x.state !== 'up').map(segmentItem));
    },
  };
}
