// Live alert list: worst first, acknowledge and shelve in place; a polite announcement for new major and
// critical alerts. Draws at most MAX_ROWS rows; the filters narrow the rest.
import { post } from './api.js';
import { SEVERITY_RANK } from './alert-store.js';
import { ago, el } from './format.js';

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

  function row(a) {
    const what = `${a.rule} on ${a.deviceId}${a.object ? ` (${a.object})` : ''}`;
    const shelveFor = el('select', { 'aria-label': `Shelve ${what} for` }, el('option', { value: '60' }, '1 h'), el('option', { value: '480' }, '8 h'), el('option', { value: 'one-shot' }, 'until it clears'));
    return el('tr', { 'data-id': a.id, 'data-severity': a.severity, class: a.acknowledged ? 'acked' : 'unacked' },
      el('td', {}, el('span', { class: `sev sev-${a.severity}` }, a.severity)),
      el('td', { title: new Date(a.raisedAt).toISOString() }, ago(a.raisedAt)),
      el('td', {}, el('code', {}, a.deviceId), a.object ? ` ${a.object}` : ''),
      el('td', {}, a.rule),
      el('td', {}, a.message),
      el('td', { class: 'alert-state' }, stateText(a)),
      el('td', { class: 'actions' },
        el('button', { type: 'button', disabled: a.acknowledged, 'aria-label': `Acknowledge ${what}`, onclick: () => act(a, 'ack', {}, 'Acknowledged') }, 'Acknowledge'),
        a.shelved ? null : el('span', { class: 'shelve' }, shelveFor, el('button', { type: 'button', class: 'secondary', 'aria-label': `Shelve ${what}`, onclick: () => act(a, 'shelve', SHELVE[shelveFor.value], 'Shelved') }, 'Shelve'))));
  }

  function render() {
    const all = store.list();
    const min = Number(filters.severity.value || 0);
    const shown = all
      .filter((a) => (!filters.group.value || a.group === filters.group.value) && SEVERITY_RANK[a.severity] >= min)
      .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || Number(a.acknowledged) - Number(b.acknowledged) || b.raisedAt - a.raisedAt);
    count.textContent = `(${shown.length} of ${all.length})`;
    onCount(all.filter((a) => !a.acknowledged).length);
    const frag = document.createDocumentFragment();
    for (const a of shown.slice(0, MAX_ROWS)) frag.append(row(a));
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
    if (change.kind === 'raised' && SEVERITY_RANK[a.severity] >= SEVERITY_RANK.major) announce(`New ${a.severity} alert: ${a.message}`);
  });
  for (const f of Object.values(filters)) f.addEventListener('input', render);

  return { refresh: () => store.reload(), render };
}
