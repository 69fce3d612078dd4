// Console shell: sign-in, who is signed in, view switching, the live alert stream, periodic refresh.
import { get, setToken, token, Unauthorized } from './api.js';
import { alertStore } from './alert-store.js';
import { alertsView } from './alerts.js';
import { deadLettersView } from './dead-letters.js';
import { devicesView } from './devices.js';
import { resilienceView } from './resilience.js';
import { waterView } from './water.js';

const REFRESH_MS = 10_000;
/** Views per role, mirroring the routes' declared roles (the API enforces them; this only hides what would be refused). */
const ROLE_VIEWS = {
  admin: ['alerts', 'devices', 'resilience', 'water', 'dead-letters'],
  'field-engineer': ['alerts', 'devices', 'resilience', 'water', 'dead-letters'],
  'disaster-ops': ['alerts', 'devices', 'resilience', 'water'],
  'water-bureau': ['alerts', 'devices', 'water'],
};
/** Where each role lands when the address names no view: disaster ops on root causes first, not the device list. */
const LANDING = { 'disaster-ops': 'alerts', 'water-bureau': 'water' };
const $ = (s) => document.querySelector(s);
const session = { me: null };
const store = alertStore();
const live = $('#announce');
const badge = $('#alert-badge');

function announce(text) {
  live.textContent = '';
  setTimeout(() => (live.textContent = text), 30);
}

const views = {
  alerts: alertsView($('#view-alerts'), store, {
    announce,
    onCount(n) {
      badge.hidden = n === 0;
      badge.textContent = String(n);
      badge.title = `${n} unacknowledged`;
    },
  }),
  devices: devicesView($('#view-devices')),
  resilience: resilienceView($('#view-resilience')),
  water: waterView($('#view-water'), store, session),
  'dead-letters': deadLettersView($('#view-dead-letters')),
};
let current = 'devices';

function signIn(message = '') {
  store.stop();
  session.me = null;
  $('#whoami').textContent = '';
  $('#stream').textContent = 'off';
  $('#stream').className = 'stream';
  $('#login-error').textContent = message;
  if (!$('#login').open) $('#login').showModal();
}

/** Who the token belongs to; offers only that role's views and starts the alert stream. */
async function startSession() {
  session.me = await get('/api/v1/me');
  const allowed = ROLE_VIEWS[session.me.role] ?? ['alerts', 'devices'];
  for (const a of document.querySelectorAll('[data-view]')) a.closest('li').hidden = !allowed.includes(a.dataset.view);
  $('#whoami').textContent = `${session.me.name || session.me.tokenId} · ${session.me.role}`;
  $('#signout').hidden = false;
  store.start((state) => {
    $('#stream').textContent = state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : state;
    $('#stream').className = `stream ${state}`;
    if (state === 'unauthorized') signIn('The token was refused. Check it and try again.');
  });
  if (!chosen && LANDING[session.me.role]) show(LANDING[session.me.role]);
  else if (!allowed.includes(current)) show(allowed[0]);
}

async function refresh() {
  try {
    if (!token()) return signIn();
    // Without a token health says ok or degraded only; the broker and counters are in the detail.
    const h = await get('/api/v1/health');
    $('#health').textContent = `${h.status === 'ok' ? '' : 'DEGRADED · '}broker ${h.mqtt?.connected ? 'connected' : 'DISCONNECTED'} · ${h.counters?.received ?? 0} messages`;
    if (!session.me) await startSession();
    // The alert list is re-read on every refresh whatever the view (shelved and flooded alerts are not streamed).
    await Promise.all([views[current].refresh(), current === 'alerts' ? undefined : store.reload()]);
    $('#view-error').textContent = '';
  } catch (err) {
    if (err instanceof Unauthorized) {
      setToken(null);
      signIn('That token was refused. Check it and try again.');
    } else {
      $('#view-error').textContent = `Could not load this view: ${err.message}`;
    }
  }
}

function show(view) {
  if (!views[view]) view = 'devices';
  current = view;
  for (const a of document.querySelectorAll('[data-view]')) a.setAttribute('aria-selected', String(a.dataset.view === view));
  for (const p of document.querySelectorAll('[data-view-panel]')) p.hidden = p.dataset.viewPanel !== view;
  void refresh();
}

$('#login-form').addEventListener('submit', () => {
  setToken($('#token').value.trim());
  $('#token').value = '';
  session.me = null;
  void refresh();
});
// Signing out reloads the page: nothing the last role was shown (a welfare list, say) stays in the DOM.
$('#signout').addEventListener('click', () => {
  setToken(null);
  location.reload();
});
/** Whether the address named a view (then the role's landing view does not replace it). */
let chosen = location.hash.length > 1;
window.addEventListener('hashchange', () => {
  chosen = true;
  show(location.hash.slice(1));
});
show(location.hash.slice(1) || 'devices');
setInterval(refresh, REFRESH_MS);
