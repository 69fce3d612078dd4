/**
 * The API's limits, from the environment (part of the ingest's environment schema, config.ts), checked
 * once at start; a wrong value names the variable:
 *
 * | variable | default | what |
 * | --- | --- | --- |
 * | HTTP_MAX_CONNECTIONS | a quarter of the fd limit, at most 1024 | open HTTP connections in all; more are closed at once, so an HTTP flood cannot take the descriptors MQTT needs |
 * | HTTP_MAX_CONNECTIONS_PER_ADDRESS | 64 | open HTTP connections from one client address |
 * | HTTP_HEADERS_TIMEOUT_MS | 10000 | time to send the request headers (slow-header clients are cut off) |
 * | HTTP_REQUEST_TIMEOUT_MS | 30000 | time to send the whole request |
 * | HTTP_IDLE_TIMEOUT_MS | 60000 | a connection with no traffic either way is closed (alert streams send a heartbeat every 15 s) |
 * | HTTP_KEEP_ALIVE_TIMEOUT_MS | 5000 | an idle keep-alive connection is closed after this |
 * | HTTP_MAX_REQUESTS_PER_SOCKET | 1000 | requests one connection may carry |
 * | API_EXPORTS_MAX | 4 | readings exports running at once (429 beyond, with Retry-After) |
 * | API_EXPORTS_PER_TOKEN | 2 | of those, per token |
 */
import { readFileSync } from 'node:fs';
import { envVar } from '@tsunagaru/firmware-contracts';
import type { z } from 'zod';
import { parseIngestEnv } from '../env.js';
import { configError } from '../errors.js';

export interface ApiSettings {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxRequestsPerSocket: number;
  exportsMax: number;
  exportsPerToken: number;
}

/** The soft limit on open files of this process (Linux /proc), or undefined where it cannot be read. */
export function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line && line[1] !== 'unlimited' ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function defaultApiSettings(fdLimit = openFilesLimit()): ApiSettings {
  return {
    maxConnections: Math.max(16, Math.min(1024, Math.floor((fdLimit ?? 4096) / 4))),
    maxConnectionsPerAddress: 64,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
    maxRequestsPerSocket: 1000,
    exportsMax: 4,
    exportsPerToken: 2,
  };
}

const int = (min: number, max: number) => envVar.int({ min, max }).optional();

/** The API's variables, as the ingest's environment schema holds them (config.ts). */
export const apiEnv = {
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000),
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: int(1, 1_000_000),
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 3_600_000),
  HTTP_IDLE_TIMEOUT_MS: int(20_000, 3_600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000),
  HTTP_MAX_REQUESTS_PER_SOCKET: int(1, 1_000_000),
  API_EXPORTS_MAX: int(1, 1000),
  API_EXPORTS_PER_TOKEN: int(1, 1000),
};

export type ApiEnv = z.output<z.ZodObject<typeof apiEnv>>;

/** The API's limits from the parsed variables, over the defaults; the rules across variables name the one at fault. */
export function apiSettingsFrom(v: Partial<ApiEnv>): ApiSettings {
  const d = defaultApiSettings();
  const settings: ApiSettings = {
    maxConnections: v.HTTP_MAX_CONNECTIONS ?? d.maxConnections,
    maxConnectionsPerAddress: v.HTTP_MAX_CONNECTIONS_PER_ADDRESS ?? d.maxConnectionsPerAddress,
    headersTimeoutMs: v.HTTP_HEADERS_TIMEOUT_MS ?? d.headersTimeoutMs,
    requestTimeoutMs: v.HTTP_REQUEST_TIMEOUT_MS ?? d.requestTimeoutMs,
    idleTimeoutMs: v.HTTP_IDLE_TIMEOUT_MS ?? d.idleTimeoutMs,
    keepAliveTimeoutMs: v.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? d.keepAliveTimeoutMs,
    maxRequestsPerSocket: v.HTTP_MAX_REQUESTS_PER_SOCKET ?? d.maxRequestsPerSocket,
    exportsMax: v.API_EXPORTS_MAX ?? d.exportsMax,
    exportsPerToken: v.API_EXPORTS_PER_TOKEN ?? d.exportsPerToken,
  };
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) throw configError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${settings.requestTimeoutMs})`);
  if (settings.exportsPerToken > settings.exportsMax) throw configError('API_EXPORTS_PER_TOKEN', `must not exceed API_EXPORTS_MAX (${settings.exportsMax})`);
  return settings;
}

/** The API's limits alone, from an environment (tests); `npm run ingest` reads them with the rest (config.ts). */
export function loadApiSettings(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  return apiSettingsFrom(parseIngestEnv(apiEnv, env));
}
