import type { Logger } from '@tsunagaru/edge-agent';
import type { FleetStats } from './fleet.js';

/** One status line: `[sim 2025-06-15T12:00:00Z] connected 13/13 · published 1234 (+56.2/s) · errors 0`. */
export function formatProgress(now: FleetStats, previous: FleetStats | undefined, elapsedSec: number): string {
  const rate = previous && elapsedSec > 0 ? (now.published - previous.published) / elapsedSec : 0;
  const simTime = new Date(now.simTs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const dropped = now.dropped > 0 ? ` · dropped ${now.dropped}` : '';
  return `[sim ${simTime}] connected ${now.connected}/${now.devices} · published ${now.published} (+${rate.toFixed(1)}/s) · errors ${now.errors}${dropped}`;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A small line logger on stderr for the CLI, so stdout carries only the progress lines. */
export function stderrLogger(minLevel: Level): Logger {
  const log =
    (level: Level) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      if (ORDER[level] < ORDER[minLevel]) return;
      process.stderr.write(`${level.toUpperCase()} ${msg ?? ''} ${JSON.stringify(obj)}\n`);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
