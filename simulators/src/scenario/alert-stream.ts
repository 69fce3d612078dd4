import { SimulatorError } from '../errors.js';
import type { AlertChange } from './score.js';

/**
 * Follows the ingest's alert stream (server-sent events, `GET /api/v1/alerts/stream`) into `into` until
 * `signal` aborts: what a console would have heard. Resolves once the stream is open.
 */
export async function followAlertStream(url: string, token: string, into: AlertChange[], signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
  if (!res.ok || !res.body) throw new SimulatorError('SIM_ERR_RUN', `alert stream: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let text = '';
  void (async () => {
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) into.push(JSON.parse(data.slice(6)) as AlertChange);
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
}
