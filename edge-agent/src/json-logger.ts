import type { Logger } from './logger.js';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * A Logger that writes one JSON object per line (pino's shape: level, time, msg, fields) to a stream,
 * for the agent process. Kept here so the agent needs no logging dependency on small gateways.
 */
export function jsonLogger(level: LogLevel = 'info', out: NodeJS.WritableStream = process.stdout, base: Record<string, unknown> = {}): Logger {
  const min = LEVELS[level];
  const write = (l: LogLevel) => (obj: Record<string, unknown>, msg?: string) => {
    if (LEVELS[l] < min) return;
    let line: string;
    try {
      line = JSON.stringify({ level: LEVELS[l], time: Date.now(), ...base, ...obj, ...(msg ? { msg } : {}) });
    } catch {
      line = JSON.stringify({ level: LEVELS[l], time: Date.now(), msg, note: 'fields not serialisable' });
    }
    out.write(`${line}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
