import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiSettings } from './api-settings.js';

/** fastify/node server options for the settings' timeouts (fastify passes `http` to http.createServer). */
export function serverTimeouts(s: ApiSettings) {
  return {
    connectionTimeout: s.idleTimeoutMs,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    requestTimeout: s.requestTimeoutMs,
    maxRequestsPerSocket: s.maxRequestsPerSocket,
    // Node checks the headers and request timeouts on this interval (30 s by default, which would let a
    // slow-header client hold its socket up to 40 s).
    node: { headersTimeout: s.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, s.headersTimeoutMs) },
  };
}

export interface ConnectionCaps {
  /** Open connections now, in all and from the busiest address. */
  stats(): { open: number; addresses: number; refused: number };
}

/**
 * Caps HTTP connections, in all (server.maxConnections: node closes the ones beyond at once) and per
 * client address (closed here before any byte is read), so a flood of idle or slow sockets cannot use up
 * the process's file descriptors, which MQTT needs too. Works for HTTPS as well: 'connection' is the raw
 * TCP socket, before the TLS handshake.
 */
export function capConnections(server: Server, s: ApiSettings, log: FastifyBaseLogger): ConnectionCaps {
  server.maxConnections = s.maxConnections;
  const byAddress = new Map<string, number>();
  let open = 0;
  let refused = 0;
  let lastWarning = 0;
  server.on('drop', () => {
    refused++;
    warn('all');
  });
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const n = byAddress.get(address) ?? 0;
    if (n >= s.maxConnectionsPerAddress) {
      refused++;
      warn(address);
      socket.destroy();
      return;
    }
    byAddress.set(address, n + 1);
    open++;
    socket.once('close', () => {
      open--;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left <= 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
  // One warning a minute at most: a flood must not turn into a flood of log lines.
  function warn(address: string): void {
    const now = Date.now();
    if (now - lastWarning < 60_000) return;
    lastWarning = now;
    log.warn({ event: 'http_connection_refused', address, refused, maxConnections: s.maxConnections, maxPerAddress: s.maxConnectionsPerAddress }, 'HTTP connections refused over the cap');
  }
  return { stats: () => ({ open, addresses: byAddress.size, refused }) };
}
