import { existsSync } from 'node:fs';
import { managedServer, type ManagedServer } from './managed-server.js';
import { freePort, portOpen } from './ports.js';
import { makeTempDir } from './temp-dir.js';

export const REDIS_BIN = process.env.REDIS_BIN ?? '/usr/bin/redis-server';

/** On CI a missing redis-server is a failure (the CI script installs it), never a silent skip. */
export function redisAvailable(): boolean {
  if (existsSync(REDIS_BIN)) return true;
  if (process.env.CI) throw new Error(`${REDIS_BIN} is missing: .ci/run must install Debian's redis-server (scripts/install-test-deps.sh)`);
  return false;
}

export interface RunningRedis extends ManagedServer {
  port: number;
}

/**
 * Debian's redis-server on a free loopback port, nothing written to disk (no RDB, no AOF), its
 * working directory a temp dir. stop()/start() keep the port: a Redis outage and its return.
 */
export async function startRedis(): Promise<RunningRedis> {
  const dir = makeTempDir('redis');
  const port = await freePort();
  // --protected-mode off is safe: bound to 127.0.0.1 only.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir.path, '--protected-mode', 'no', '--loglevel', 'warning'];
  const server = managedServer('redis-server', REDIS_BIN, args, `redis://127.0.0.1:${port}`, () => portOpen(port), () => dir.remove());
  await server.start();
  return Object.assign(server, { port });
}
