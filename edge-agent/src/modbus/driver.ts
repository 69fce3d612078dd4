/**
 * One Modbus transport (TCP, RTU over a serial port, or a script in tests). A driver does one request
 * at a time and knows nothing about queues, retries or register maps: ModbusBus adds those.
 */
export type BitTable = 'coil' | 'discrete-input';
export type WordTable = 'input-register' | 'holding-register';

export interface ModbusDriver {
  /** Where the driver talks to, for errors and logs: `tcp 10.0.0.5:502`, `rtu /dev/ttyUSB0 9600 8N1`. */
  readonly endpoint: string;
  readonly isOpen: boolean;
  /** Opens the connection or port. Rejects when it cannot. */
  open(): Promise<void>;
  readBits(table: BitTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<boolean[]>;
  /** Registers in protocol order, each 0–65535. */
  readRegisters(table: WordTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<number[]>;
  writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void>;
  writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Modbus exception codes (Modbus Application Protocol V1.1b3, §7) as an operator reads them. */
import { EdgeAgentError } from '../errors.js';

export const MODBUS_EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge (busy, retry later)',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

const CODE_OF_KIND = { timeout: 'EDGE_ERR_MODBUS_TIMEOUT', exception: 'EDGE_ERR_MODBUS_EXCEPTION', io: 'EDGE_ERR_MODBUS_IO' } as const;

/** A driver failure already classified, so the bus can decide on retries without parsing messages. */
export class ModbusDriverError extends EdgeAgentError {
  override readonly name: string = 'ModbusDriverError';
  constructor(
    readonly kind: 'timeout' | 'exception' | 'io',
    message: string,
    readonly exceptionCode?: number,
    options?: { cause?: unknown },
  ) {
    super(CODE_OF_KIND[kind], message, options);
  }
}

export function exceptionError(code: number): ModbusDriverError {
  return new ModbusDriverError('exception', `Modbus exception ${code} (${MODBUS_EXCEPTIONS[code] ?? 'unknown'})`, code);
}
