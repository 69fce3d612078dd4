// Live alert list: root causes first with their symptoms folded under them, then the rest worst first;
// acknowledge and shelve in place; a polite announcement for new major and critical alerts. Times are
// when the device observed what raised an alert (data that arrived late says so). Draws at most MAX_ROWS
// rows; the filters narrow the rest.
import { post } from './api.js';
import { SEVERITY_RANK } from './alert-store.js';
import { ago, clock, el } from './format.js';

/** Root causes (ingest alerts/correlation.ts): their symptoms are grouped under them. */
const ROOT_RULES = new Set(['ring-island-isolated', 'ring-segment-down', 'district-mains-lost']);
/** Data that reached the ingest this much after the device observed it is called late. */
const LATE_MS = 5 * 60_000;

const MAX_ROWS = 500;
const SHELVE = { '60': { mode: 'timed', minutes: 60 }, '480': { mode: 'timed', minutes: 480 }, 'one-shot': { mode: 'one-shot' } };

export function stateText(a) {
  const parts = [a.acknowledged ? `Acknowledged${a.ackedBy ? ` by ${a.ackedBy}` : ''}` : 'Unacknowledged'];
  if (a.shelved) parts.push(a.shelved.mode === 'one-shot' || !a.shelved.until ? 'shelved until it clears' : `shelved until ${new Date(a.shelved.until).toLocaleTimeString()}`);
  if (a.chattering) parts.push('chattering');
  return parts.join(' · ');
}

export function alertsView(root, store, { announce, onCount }) {
  const rows = root.querySelector('#alert-rows');
  const count = root.querySelector('#alert-count');
  const error = root.querySelector('#alert-error');
  const filters = { group: root.querySelector('#alert-group'), severity: root.querySelector('#alert-severity') };
  let timer;

  async function act(alert, path, body, verb) {
    error.textContent = '';
    try {
      store.update(await post(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${path}`, body));
      announce(`${verb}: ${alert.rule} on ${alert.deviceId}`);
    } catch (err) {
      error.textContent = `Could not ${verb.toLowerCase()} ${alert.rule} on ${alert.deviceId}: ${err.message}`;
    }
  }

  /** Root causes whose symptoms are shown unfolded. */
  const unfolded = new Set();

  function observed(a) {
    const at = a.observedAt ?? a.raisedAt;
    const late = a.observedAt != null && a.raisedAt - a.observedAt > LATE_MS;
    return el('td', { class: 'observed', title: `observed by the device ${new Date(at).toLocaleString()}; raised ${new Date(a.raisedAt).toLocaleString()}` },
      el('time', { datetime: new Date(at).toISOString() }, clock(at)), el('div', { class: 'hint' }, ago(at)),
      late ? el('div', { class: 'late' }, `arrived ${ago(a.observedAt, a.raisedAt).replace(' ago', '')} late`) : null);
  }

  function row(a, { symptoms = [], symptom = false } = {}) {
    const what = `${a.rule} on ${a.deviceId}${a.object ? ` (${a.object})` : ''}`;
    const shelveFor = el('select', { 'aria-label': `Shelve ${what} for` }, el('option', { value: '60' }, '1 h'), el('option', { value: '480' }, '8 h'), el('option', { value: 'one-shot' }, 'until it clears'));
    const open = unfolded.has(a.id);
    const fold = symptoms.length === 0 ? null : el('button', {
      type: 'button', class: 'secondary fold', 'aria-expanded': String(open), 'aria-label': `${open ? 'Hide' : 'Show'} the ${symptoms.length} symptoms of ${what}`,
      onclick: () => { open ? unfolded.delete(a.id) : unfolded.add(a.id); render(); },
    }, `${open ? '▾' : '▸'} ${symptoms.length} symptom${symptoms.length === 1 ? '' : 's'}`);
    const cls = [a.acknowledged ? 'acked' : 'unacked', symptoms.length > 0 || ROOT_RULES.has(a.rule) ? 'root-cause' : '', symptom ? 'symptom' : ''].filter(Boolean).join(' ');
    return el('tr', { 'data-id': a.id, 'data-severity': a.severity, 'data-cause': a.causeId ?? undefined, class: cls },
      el('td', {}, el('span', { class: `sev sev-${a.severity}` }, a.severity)),
      observed(a),
      el('td', {}, el('code', {}, a.deviceId), a.object ? ` ${a.object}` : ''),
      el('td', {}, symptom ? '↳ ' : '', a.rule, ROOT_RULES.has(a.rule) ? el('div', { class: 'hint' }, 'root cause') : null),
      el('td', {}, a.message, fold ? el('div', {}, fold) : null),
      el('td', { class: 'alert-state' }, stateText(a)),
      el('td', { class: 'actions' },
        el('button', { type: 'button', disabled: a.acknowledged, 'aria-label': `Acknowledge ${what}`, onclick: () => act(a, 'ack', {}, 'Acknowledged') }, 'Acknowledge'),
        a.shelved ? null : el('span', { class: 'shelve' }, shelveFor, el('button', { type: 'button', class: 'secondary', 'aria-label': `Shelve ${what}`, onclick: () => act(a, 'shelve', SHELVE[shelveFor.value], 'Shelved') }, 'Shelve'))));
  }

  function render() {
    const all = store.list();
    const min = Number(filters.severity.value || 0);
    const byId = new Map(all.map((a) => [a.id, a]));
    const worstFirst = (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || Number(a.acknowledged) - Number(b.acknowledged) || b.raisedAt - a.raisedAt;
    const shown = all.filter((a) => (!filters.group.value || a.group === filters.group.value) && SEVERITY_RANK[a.severity] >= min);
    // A symptom is listed under its cause while the cause is active; on its own otherwise.
    const symptomsOf = new Map();
    for (const a of all) if (a.causeId && byId.has(a.causeId)) symptomsOf.set(a.causeId, [...(symptomsOf.get(a.causeId) ?? []), a]);
    const grouped = (a) => a.causeId && byId.has(a.causeId);
    const roots = shown.filter((a) => !grouped(a) && (symptomsOf.has(a.id) || ROOT_RULES.has(a.rule))).sort(worstFirst);
    const rest = shown.filter((a) => !grouped(a) && !roots.includes(a)).sort(worstFirst);
    count.textContent = `(${shown.length} of ${all.length}${roots.length ? `; ${roots.length} root causes` : ''})`;
    onCount(all.filter((a) => !a.acknowledged && !grouped(a)).length);
    const frag = document.createDocumentFragment();
    let drawn = 0;
    for (const a of [...roots, ...rest]) {
      if (drawn++ >= MAX_ROWS) break;
      const symptoms = (symptomsOf.get(a.id) ?? []).sort(worstFirst);
      frag.append(row(a, { symptoms }));
      if (unfolded.has(a.id)) for (const s of symptoms) frag.append(row(s, { symptom: true }));
    }
    if (shown.length === 0) frag.append(el('tr', {}, el('td', { colspan: '7', class: 'hint' }, all.length ? 'No alert matches the filters.' : 'No active alerts.')));
    rows.replaceChildren(frag);
  }

  /** Many events in a burst draw once. */
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(render, 50);
  };

  store.subscribe((change) => {
    schedule();
    const a = change.alert;
    if ((change.kind === 'raised' || change.kind === 'escalated') && SEVERITY_RANK[a.severity] >= SEVERITY_RANK.major && !a.causeId) announce(`${change.kind === 'raised' ? `New ${a.severity} alert` : `Escalated to ${a.severity}`}: ${a.message}`);
  });
  for (const f of Object.values(filters)) f.addEventListener('input', render);

  return { refresh: () => store.reload(), render };
}
