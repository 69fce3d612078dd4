// Console shell: sign-in, view switching, periodic refresh, health line.
import { get, setToken, token, Unauthorized } from './api.js';
import { deadLettersView } from './dead-letters.js';
import { devicesView } from './devices.js';

const REFRESH_MS = 10_000;
const views = {
  devices: devicesView(document.querySelector('#view-devices')),
  'dead-letters': deadLettersView(document.querySelector('#view-dead-letters')),
};
let current = 'devices';

function signIn(message = '') {
  const dialog = document.querySelector('#login');
  document.querySelector('#login-error').textContent = message;
  if (!dialog.open) dialog.showModal();
}

async function refresh() {
  try {
    const h = await fetch('/api/v1/health').then((r) => r.json());
    document.querySelector('#health').textContent = `broker ${h.mqtt?.connected ? 'connected' : 'DISCONNECTED'} · ${h.counters?.received ?? 0} messages`;
    if (!token()) return signIn();
    await views[current].refresh();
  } catch (err) {
    if (err instanceof Unauthorized) {
      setToken(null);
      signIn('That token was refused. Check it and try again.');
    } else {
      document.querySelector('#health').textContent = `error: ${err.message}`;
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

document.querySelector('#login-form').addEventListener('submit', () => {
  setToken(document.querySelector('#token').value.trim());
  void refresh();
});
window.addEventListener('hashchange', () => show(location.hash.slice(1)));
show(location.hash.slice(1) || 'devices');
setInterval(refresh, REFRESH_MS);
