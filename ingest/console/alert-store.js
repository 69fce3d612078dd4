// The active alerts, kept live: listed once, then followed over server-sent events; re-listed after every
// reconnect (the stream does not replay) and on each refresh (shelved and flooded alerts are not streamed).
import { get } from './api.js';
import { follow } from './sse.js';

export const SEVERITY_RANK = { critical: 4, major: 3, minor: 2, warning: 1, indeterminate: 0 };

export function alertStore() {
  const byId = new Map();
  const listeners = new Set();
  let stream;
  const notify = (change) => listeners.forEach((fn) => fn(change));

  function apply(kind, alert) {
    const old = byId.get(alert.id);
    if (old && old.updatedAt > alert.updatedAt) return;
    if (alert.state === 'cleared') byId.delete(alert.id);
    else byId.set(alert.id, alert);
    notify({ kind, alert });
  }

  async function reload() {
    const { alerts } = await get('/api/v1/alerts?state=active&limit=1000');
    const fresh = new Map(alerts.map((a) => [a.id, a]));
    // An event that arrived while the list was on its way is newer than the list's copy.
    for (const [id, a] of byId) if (fresh.has(id) && fresh.get(id).updatedAt < a.updatedAt) fresh.set(id, a);
    byId.clear();
    for (const [id, a] of fresh) byId.set(id, a);
    notify({ kind: 'reload' });
  }

  return {
    start(onState) {
      stream?.stop();
      stream = follow('/api/v1/alerts/stream', {
        onEvent: (kind, data) => data?.alert && apply(kind, data.alert),
        onState: (state) => {
          if (state === 'live') reload().catch(() => undefined);
          onState?.(state);
        },
      });
    },
    stop() {
      stream?.stop();
      stream = undefined;
      byId.clear();
      notify({ kind: 'reload' });
    },
    list: () => [...byId.values()],
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    /** An alert the API just returned (after acknowledge or shelve). */
    update: (alert) => apply('updated', alert),
    reload,
  };
}
