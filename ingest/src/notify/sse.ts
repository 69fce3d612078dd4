import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AlertEngine } from '../alerts/engine.js';
import type { AlertEvent } from '../alerts/types.js';

/** A client that stops reading is dropped past this much unsent data, so it cannot hold the ingest's memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

const streams = new WeakMap<AlertEngine, Set<{ end(): void }>>();

/** Ends the engine's open streams (fastify waits for open connections when it closes). */
export function closeAlertStreams(engine: AlertEngine): void {
  for (const s of streams.get(engine) ?? []) s.end();
}

/**
 * Server-sent events (text/event-stream): one event per alert change the lifecycle notifies (not shelved,
 * not flooded), named by its kind, data `{kind, at, alert}`. No replay on reconnect: a client lists
 * GET /api/v1/alerts first and then follows the stream. Hijacked responses skip fastify's serialization
 * hooks (welfare redaction), so the route passes `visible` to filter per role.
 */
export function streamAlerts(
  engine: AlertEngine,
  request: FastifyRequest,
  reply: FastifyReply,
  visible: (e: AlertEvent) => boolean = () => true,
  /** What of an event the client gets (e.g. without welfare fields); default all of it. */
  view: (e: AlertEvent) => unknown = (e) => e,
): void {
  reply.hijack();
  const res = reply.raw;
  const open = streams.get(engine) ?? new Set();
  streams.set(engine, open);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': tsunagaru alerts\nretry: 3000\n\n');
  let n = 0;
  const stream = {
    end: () => {
      unsubscribe();
      clearInterval(heartbeat);
      open.delete(stream);
      if (!res.writableEnded) res.end();
    },
  };
  const unsubscribe = engine.subscribe((event) => {
    if (!visible(event)) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      request.log.warn({ event: 'alert_stream_dropped', ip: request.ip }, 'an alert stream client stopped reading; dropped');
      return stream.end();
    }
    res.write(`id: ${++n}\nevent: ${event.kind}\ndata: ${JSON.stringify(view(event))}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  open.add(stream);
  request.raw.on('close', stream.end);
}
