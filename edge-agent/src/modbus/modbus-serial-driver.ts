import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { exceptionError, ModbusDriverError, type BitTable, type ModbusDriver, type WordTable } from './driver.js';

export interface ModbusTcpOptions {
  host: string;
  /** Default 502. */
  port?: number;
  /** How long opening the connection may take, ms. Default 3000. */
  connectTimeoutMs?: number;
}

export interface ModbusRtuOptions {
  /** Serial device, e.g. `/dev/ttyUSB0` or `/dev/ttyAMA0`. */
  path: string;
  /** Default 9600. */
  baudRate?: number;
  /** Default 'none'. */
  parity?: 'none' | 'even' | 'odd';
  /** Default 8. */
  dataBits?: 7 | 8;
  /** Default 1. */
  stopBits?: 1 | 2;
}

type Transport = { kind: 'tcp'; options: ModbusTcpOptions } | { kind: 'rtu'; options: ModbusRtuOptions };

/** modbus-serial reports failures as plain errors; classify them once here. */
function classify(err: unknown): ModbusDriverError {
  if (err instanceof ModbusDriverError) return err;
  const e = err as { message?: string; modbusCode?: unknown; errno?: unknown; name?: string };
  if (typeof e.modbusCode === 'number') return exceptionError(e.modbusCode);
  const message = e.message ?? String(err);
  if (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT' || /timed out/i.test(message)) {
    return new ModbusDriverError('timeout', 'no answer (timed out)', undefined, { cause: err });
  }
  return new ModbusDriverError('io', message, undefined, { cause: err });
}

/**
 * Modbus TCP and Modbus RTU (serial, via `serialport`) through the modbus-serial library. One instance
 * is one connection: TCP to a device or gateway, or one serial bus shared by every unit id on it.
 */
export class ModbusSerialDriver implements ModbusDriver {
  readonly endpoint: string;
  private client: ModbusRTU | undefined;

  private constructor(private readonly transport: Transport) {
    if (transport.kind === 'tcp') this.endpoint = `tcp ${transport.options.host}:${transport.options.port ?? 502}`;
    else {
      const o = transport.options;
      this.endpoint = `rtu ${o.path} ${o.baudRate ?? 9600} ${o.dataBits ?? 8}${(o.parity ?? 'none')[0]!.toUpperCase()}${o.stopBits ?? 1}`;
    }
  }

  static tcp(options: ModbusTcpOptions): ModbusSerialDriver {
    return new ModbusSerialDriver({ kind: 'tcp', options });
  }

  static rtu(options: ModbusRtuOptions): ModbusSerialDriver {
    return new ModbusSerialDriver({ kind: 'rtu', options });
  }

  get isOpen(): boolean {
    return this.client?.isOpen === true;
  }

  async open(): Promise<void> {
    await this.close();
    // modbus-serial is CommonJS: its default export is the client class, which its typings call ModbusRTU.
    const client = new (ModbusSerial as unknown as typeof ModbusRTU)();
    // A socket or port error after opening must not crash the process; the next request reports it.
    client.on('error', () => undefined);
    try {
      if (this.transport.kind === 'tcp') {
        const o = this.transport.options;
        await client.connectTCP(o.host, { port: o.port ?? 502, timeout: o.connectTimeoutMs ?? 3000 });
      } else {
        const o = this.transport.options;
        await client.connectRTUBuffered(o.path, { baudRate: o.baudRate ?? 9600, parity: o.parity ?? 'none', dataBits: o.dataBits ?? 8, stopBits: o.stopBits ?? 1 });
      }
    } catch (err) {
      client.close(() => undefined);
      throw new ModbusDriverError('io', `cannot open ${this.endpoint}: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.client = client;
  }

  private prepare(unitId: number, timeoutMs: number): ModbusRTU {
    const c = this.client;
    if (!c?.isOpen) throw new ModbusDriverError('io', `${this.endpoint} is not open`);
    c.setID(unitId);
    c.setTimeout(timeoutMs);
    return c;
  }

  async readBits(table: BitTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<boolean[]> {
    try {
      const c = this.prepare(unitId, timeoutMs);
      const r = table === 'coil' ? await c.readCoils(address, count) : await c.readDiscreteInputs(address, count);
      return r.data.slice(0, count);
    } catch (err) {
      throw classify(err);
    }
  }

  async readRegisters(table: WordTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<number[]> {
    try {
      const c = this.prepare(unitId, timeoutMs);
      const r = table === 'input-register' ? await c.readInputRegisters(address, count) : await c.readHoldingRegisters(address, count);
      return r.data;
    } catch (err) {
      throw classify(err);
    }
  }

  async writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void> {
    try {
      await this.prepare(unitId, timeoutMs).writeCoil(address, value);
    } catch (err) {
      throw classify(err);
    }
  }

  async writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void> {
    try {
      await this.prepare(unitId, timeoutMs).writeRegister(address, value);
    } catch (err) {
      throw classify(err);
    }
  }

  close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => c.close(() => resolve()));
  }
}
