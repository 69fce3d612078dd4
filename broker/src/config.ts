import { BrokerError } from './errors.js';

/** The standalone broker's configuration, read once from the environment at start, then frozen. */
export interface BrokerConfig {
  /** DATA_DIR: holds `registry/devices.jsonl`. Default `./data`. */
  dataDir: string;
  /** MQTT_PORT: TCP port, 0..65535 (0 = any free port). Default 1883. */
  port: number;
  /**
   * MQTT_HOST: address to bind. Default 127.0.0.1: this listener has no TLS, so exposing it to a
   * network is a deliberate act (MQTT_HOST=0.0.0.0, ideally behind a TLS-terminating proxy).
   */
  host: string;
  /** LOG_LEVEL: a pino level. Default info. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const LOG_LEVELS: readonly BrokerConfig['logLevel'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function configError(variable: string, message: string): BrokerError {
  return new BrokerError('BROKER_ERR_CONFIG', `${variable}: ${message}`);
}

/** Reads and validates the environment; every error names the variable at fault. */
export function loadBrokerConfig(env: Record<string, string | undefined>): Readonly<BrokerConfig> {
  const dataDir = env.DATA_DIR ?? './data';
  if (dataDir.trim() === '') throw configError('DATA_DIR', 'must not be empty');

  const portText = env.MQTT_PORT ?? '1883';
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw configError('MQTT_PORT', `must be an integer 0..65535, got "${portText}"`);
  }

  const host = env.MQTT_HOST ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw configError('MQTT_HOST', `must be an IP address or host name, got "${host}"`);

  const logLevel = (env.LOG_LEVEL ?? 'info') as BrokerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw configError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  return Object.freeze({ dataDir, port: Number(portText), host, logLevel });
}
