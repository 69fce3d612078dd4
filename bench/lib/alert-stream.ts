/**
 * The operators' view of alerts for the benchmarks (city-scale, bench:alerts): GET /api/v1/alerts/stream (server-sent events),
 * read as a console would, each event stamped with performance.now() when its chunk arrived.
 */

export interface AlertStream {
  /** Resolves with the arrival time of the next `kind` event of `rule` for `deviceId`; rejects after `timeoutMs`. */
  expect(deviceId: string, rule: string, kind: string, timeoutMs: number): Promise<number>;
  close(): void;
}

export async function followAlertStream(httpUrl: string, token: string): Promise<AlertStream> {
  // Per key a queue: under load a plant can switch again before its previous event arrived; the engine
  // emits a key's events in order, so the oldest waiter takes the next event.
  const waiters = new Map<string, Array<(at: number) => void>>();
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/api/v1/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`alert stream: HTTP ${res.status}`);
  void (async () => {
    let buffer = '';
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      const at = performance.now();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const e = JSON.parse(data) as { kind: string; alert: { deviceId?: string; rule: string } };
        const key = `${e.alert.deviceId}|${e.alert.rule}|${e.kind}`;
        const queue = waiters.get(key);
        const resolve = queue?.shift();
        if (queue?.length === 0) waiters.delete(key);
        resolve?.(at);
      }
    }
  })().catch(() => undefined);
  return {
    expect(deviceId, rule, kind, timeoutMs) {
      const key = `${deviceId}|${rule}|${kind}`;
      return new Promise<number>((resolve, reject) => {
        const waiter = (at: number) => {
          clearTimeout(timer);
          resolve(at);
        };
        const timer = setTimeout(() => {
          const queue = waiters.get(key) ?? [];
          if (queue.includes(waiter)) queue.splice(queue.indexOf(waiter), 1);
          reject(new Error(`no ${kind} ${rule} event for ${deviceId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(key, [...(waiters.get(key) ?? []), waiter]);
      });
    },
    close: () => abort.abort(),
  };
}
