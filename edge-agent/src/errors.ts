/**
 * Every error the edge agent raises, with a stable code (`EDGE_ERR_…`) and whether retrying can help, in
 * the template of all packages (firmware-contracts CodedError). Callers branch on `code`, never on message
 * text; messages are for the operator reading the log.
 */
import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

export type EdgeAgentErrorCode =
  /** Options failed validation at construction; fix the configuration. */
  | 'EDGE_ERR_INVALID_OPTIONS'
  /** The broker refused the credentials (CONNACK 4 or 5). */
  | 'EDGE_ERR_NOT_AUTHORIZED'
  /** The broker refused the connection for another reason (CONNACK 1–3). */
  | 'EDGE_ERR_CONNECT_REFUSED'
  /** No CONNACK within the start timeout (broker down, network, TLS…). */
  | 'EDGE_ERR_CONNECT_TIMEOUT'
  /** An outgoing payload broke contract v1; a bug in whoever built the samples. */
  | 'EDGE_ERR_INVALID_PAYLOAD'
  | 'EDGE_ERR_NOT_STARTED'
  /** start() called on a session that is already starting or running. */
  | 'EDGE_ERR_INVALID_STATE'
  /** The session was stopped before the operation could complete. */
  | 'EDGE_ERR_STOPPED'
  | 'EDGE_ERR_PUBLISH_FAILED'
  | 'EDGE_ERR_SUBSCRIBE_DENIED'
  | 'EDGE_ERR_IDENTITY_IO'
  /** The agent's config file is missing, unreadable or invalid; the message names the field and the fix. */
  | 'EDGE_ERR_CONFIG'
  /** A register map file is unreadable or breaks the register map schema. */
  | 'EDGE_ERR_REGISTER_MAP'
  /** A Modbus request got no answer within its timeout (after its retries). */
  | 'EDGE_ERR_MODBUS_TIMEOUT'
  /** The Modbus device answered with an exception (illegal address, gateway target failed, …). */
  | 'EDGE_ERR_MODBUS_EXCEPTION'
  /** The bus itself failed: serial port or TCP connection could not be opened, or broke. */
  | 'EDGE_ERR_MODBUS_IO'
  /** Too many requests waiting for the bus; the oldest work is not dropped, the new request is refused. */
  | 'EDGE_ERR_MODBUS_QUEUE_FULL'
  /** The on-disk buffer could not be read or written. */
  | 'EDGE_ERR_BUFFER_IO'
  /** Another agent process holds the buffer directory. */
  | 'EDGE_ERR_BUFFER_LOCKED';

const CAN_RETRY: ReadonlySet<EdgeAgentErrorCode> = new Set<EdgeAgentErrorCode>([
  'EDGE_ERR_CONNECT_TIMEOUT',
  'EDGE_ERR_PUBLISH_FAILED',
  'EDGE_ERR_IDENTITY_IO',
  'EDGE_ERR_MODBUS_TIMEOUT',
  'EDGE_ERR_MODBUS_IO',
  'EDGE_ERR_MODBUS_QUEUE_FULL',
  'EDGE_ERR_BUFFER_IO',
]);

export interface EdgeAgentErrorInit extends CodedErrorInit {
  deviceId?: string;
}

export class EdgeAgentError extends CodedError<EdgeAgentErrorCode> {
  override readonly name: string = 'EdgeAgentError';
  readonly deviceId: string | undefined;

  /** `init.canRetry` overrides the code's default, e.g. CONNACK 3 "server unavailable" is worth retrying. */
  constructor(code: EdgeAgentErrorCode, message: string, init: EdgeAgentErrorInit = {}) {
    super(code, message, CAN_RETRY.has(code), init);
    this.deviceId = init.deviceId;
  }
}

export function isEdgeAgentError(err: unknown, code?: EdgeAgentErrorCode): err is EdgeAgentError {
  return err instanceof EdgeAgentError && (code === undefined || err.code === code);
}

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3], as the operator should read them. */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

/** Turns a CONNACK refusal into an error that names the device and says what to check. */
export function connackError(deviceId: string, url: string, returnCode: number, cause?: unknown): EdgeAgentError {
  const reason = CONNACK_REASONS[returnCode] ?? `return code ${returnCode}`;
  if (returnCode === 4 || returnCode === 5) {
    return new EdgeAgentError(
      'EDGE_ERR_NOT_AUTHORIZED',
      `device "${deviceId}" was refused by the broker at ${url}: ${reason} (CONNACK ${returnCode}). ` +
        `Check the device secret, and that "${deviceId}" is provisioned and not disabled.`,
      { deviceId, cause },
    );
  }
  return new EdgeAgentError(
    'EDGE_ERR_CONNECT_REFUSED',
    `device "${deviceId}" was refused by the broker at ${url}: ${reason} (CONNACK ${returnCode})`,
    { deviceId, cause, canRetry: returnCode === 3 },
  );
}

/** MQTT.js reports a refused CONNACK as "Connection refused: …" with the return code in `code`. */
export function connackReturnCode(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && err.message.startsWith('Connection refused') ? code : undefined;
}
