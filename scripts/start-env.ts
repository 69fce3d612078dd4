/**
 * Every variable `npm start` reads, in one zod schema checked once before anything starts: the broker's
 * (brokerEnv: listener, every protective limit, BROKER_ID), the ingest's (ingestEnv) and its own
 * (SIMULATORS, LOG_FILE, MQTTS_PORT=off, HTTP_TLS). Where the broker and the ingest both read a variable
 * (DATA_DIR, LOG_LEVEL, MQTT_PORT, MQTT_TLS_CA) it means the broker's here: the broker is this process's.
 * A problem names the variable and what it must be, as in `npm run broker` and `npm run ingest`.
 */
import { BrokerError, brokerConfigFrom, brokerEnv, limitsOf, parseBrokerEnv, type BrokerConfig, type BrokerLimits } from '@tsunagaru/broker';
import { envVar, type EnvValues } from '@tsunagaru/firmware-contracts';
import { ingestConfigFrom, ingestEnv, type IngestConfig } from '@tsunagaru/ingest';

export const startEnv = {
  ...ingestEnv,
  ...brokerEnv,
  /** `on` (default): a simulated fleet publishes; `off`: production (docker-compose.yml). */
  SIMULATORS: envVar.flag(['on', 'off']).optional(),
  /** The structured log: a file (default DATA_DIR/tsunagaru.log), or `-` for stdout (containers). */
  LOG_FILE: envVar.text().optional(),
  /** The mqtts port (default 8883), or `off`. */
  MQTTS_PORT: envVar.intOr('off', { max: 65_535, message: 'must be a port number 0-65535, or off' }).optional(),
  /** The API over HTTPS with the development certificate (`dev`); with your own, HTTP_TLS_CERT and HTTP_TLS_KEY. */
  HTTP_TLS: envVar.oneOf(['dev', 'off'], 'must be dev or off (for your own certificate set HTTP_TLS_CERT and HTTP_TLS_KEY)').optional(),
};

export type StartEnv = EnvValues<typeof startEnv>;

export interface StartConfig {
  /** The parsed variables (start-tls.ts reads the TLS ones). */
  env: StartEnv;
  broker: Pick<BrokerConfig, 'port' | 'host' | 'brokerId'> & { limits: BrokerLimits };
  ingest: Readonly<IngestConfig>;
  simulators: boolean;
  /** `-`: stdout; otherwise a file path (default DATA_DIR/tsunagaru.log). */
  logFile: string | undefined;
}

/** Reads and checks the whole environment of `npm start` once. */
export function loadStartConfig(raw: Readonly<Record<string, string | undefined>>): StartConfig {
  const env = parseBrokerEnv(startEnv, raw) as StartEnv;
  if (env.BROKER_REDIS_URL !== undefined) {
    throw new BrokerError('BROKER_ERR_CONFIG', 'BROKER_REDIS_URL: `npm start` is one node (broker and ingest in one process, a PUBACK after the journal); for a cluster run `npm run broker` nodes and `npm run ingest` (docs/deploy.md), or unset it');
  }
  // mqtts is start-tls.ts's (a development certificate when no files are named), not the broker's loader.
  const broker = brokerConfigFrom({ ...env, MQTT_TLS_CERT: undefined, MQTT_TLS_KEY: undefined, MQTT_TLS_CLIENT_CERTS: undefined, MQTTS_PORT: undefined });
  return {
    env,
    broker: { port: broker.port, host: broker.host, ...(broker.brokerId ? { brokerId: broker.brokerId } : {}), limits: limitsOf(broker) },
    ingest: ingestConfigFrom(env),
    simulators: env.SIMULATORS ?? true,
    logFile: env.LOG_FILE,
  };
}
