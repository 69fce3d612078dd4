/**
 * The logging surface the edge agent needs. It is a subset of pino's API (`logger.info(obj, msg)`), so a
 * pino logger can be passed as is; the default is silent so library code never writes to stdout.
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

const noop = (): void => {};

export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
