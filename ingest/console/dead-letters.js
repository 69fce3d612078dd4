// The dead-letter list: what was refused, and why.
import { get } from './api.js';
import { el } from './format.js';

export function deadLettersView(root) {
  const rows = root.querySelector('#dl-rows');
  const count = root.querySelector('#dl-count');
  return {
    async refresh() {
      const { total, deadLetters } = await get('/api/v1/dead-letters?limit=200');
      count.textContent = `(${total})`;
      rows.replaceChildren(
        ...deadLetters.map((d) =>
          el('tr', {}, el('td', {}, new Date(d.receivedAt).toLocaleString()), el('td', {}, el('code', {}, d.deviceId ?? '–')),
            el('td', {}, d.reason), el('td', { class: 'payload' }, d.payload.slice(0, 300) + (d.payload.length > 300 || d.truncated ? '…' : '')))),
      );
    },
  };
}
