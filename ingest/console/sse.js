// Server-sent events over fetch (EventSource cannot send the bearer token), reconnecting with backoff.
import { token } from './api.js';

/** Splits an event-stream buffer into complete events; returns [events, rest]. */
export function parseEvents(buffer) {
  const events = [];
  const blocks = buffer.replaceAll('\r\n', '\n').split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return [events, rest];
}

/**
 * Follows `path`: onEvent(name, parsedData) per event; onState('live' | 'reconnecting' | 'unauthorized').
 * Each (re)connection reports 'live' first, so the caller can re-list what it may have missed.
 */
export function follow(path, { onEvent, onState }) {
  let stopped = false;
  let controller;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  (async () => {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, { headers: { authorization: `Bearer ${token() ?? ''}`, accept: 'text/event-stream' }, signal: controller.signal });
        if (res.status === 401 || res.status === 403) return onState(res.status === 401 ? 'unauthorized' : 'forbidden');
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState('live');
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const [events, rest] = parseEvents(buffer + value);
          buffer = rest;
          for (const e of events) {
            try {
              onEvent(e.event, JSON.parse(e.data));
            } catch {
              // A malformed event is skipped; the next list refresh corrects the view.
            }
          }
        }
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      onState('reconnecting');
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  })();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
