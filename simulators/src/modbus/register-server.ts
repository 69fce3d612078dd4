import { createServer } from 'node:net';
import type { RegisterMap, RegisterTable } from '@tsunagaru/firmware-contracts';
import { toRaw, type ReadingValue } from '@tsunagaru/edge-agent';
import { ServerSerial, ServerTCP, type IServiceVector } from 'modbus-serial';
import { SimulatorError } from '../errors.js';

/** What the server does with one request: answer (undefined), stay silent (the client times out), or raise an exception. */
export type ServerFault = undefined | 'silent' | { exception: number };

export interface RegisterServerOptions {
  map: RegisterMap;
  /**
   * Modbus RTU on this serial device instead of Modbus TCP (e.g. one end of a null-modem cable or a
   * USB RS-485 adapter). Default: TCP.
   */
  serial?: { path: string; baudRate?: number };
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Unit id the server answers; default: any (as a TCP device usually does). */
  unitId?: number;
  /** Fault injection per request, e.g. a flaky RTU gateway answering exception 11 now and then. */
  fault?: (req: { table: RegisterTable; address: number; count: number }) => ServerFault;
  /** Called when a client writes a coil or holding register. */
  onWrite?: (table: 'coil' | 'holding-register', address: number, value: number | boolean) => void;
}

type Callback<T> = (err: unknown, value?: T) => void;

const ILLEGAL_ADDRESS = { modbusErrorCode: 2, msg: 'Illegal data address' };

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A Modbus TCP server holding a register map's four tables: simulators put readings in by name (encoded
 * with the map's types, scales and byte/word orders) and real Modbus clients read the frames. Addresses
 * the map does not define answer "illegal data address", as a real controller does.
 */
export class RegisterServer {
  readonly bits: Record<'coil' | 'discrete-input', Map<number, boolean>> = { coil: new Map(), 'discrete-input': new Map() };
  readonly words: Record<'input-register' | 'holding-register', Map<number, number>> = { 'input-register': new Map(), 'holding-register': new Map() };
  /** Requests served (or refused) so far. */
  requests = 0;

  private constructor(
    readonly map: RegisterMap,
    private readonly server: ServerTCP | ServerSerial,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(options: RegisterServerOptions): Promise<RegisterServer> {
    const host = options.host ?? '127.0.0.1';
    const port = options.serial ? 0 : (options.port ?? (await freePort(host)));
    let self: RegisterServer | undefined;
    // modbus-serial's multi-register handler reads `values[i]` even on an error, so errors carry `empty`.
    const read = <T>(table: RegisterTable, address: number, count: number, cb: Callback<T>, get: (s: RegisterServer) => T | undefined, empty?: T): void => {
      const s = self;
      if (!s) return cb(ILLEGAL_ADDRESS, empty);
      s.requests++;
      const fault = options.fault?.({ table, address, count });
      if (fault === 'silent') return;
      if (fault) return cb({ modbusErrorCode: fault.exception }, empty);
      const value = get(s);
      if (value === undefined) cb(ILLEGAL_ADDRESS, empty);
      else cb(null, value);
    };
    const words = (table: 'input-register' | 'holding-register') => (addr: number, length: number, _unit: number, cb: Callback<number[]>) =>
      read(table, addr, length, cb, (s) => {
        const out = Array.from({ length }, (_, i) => s.words[table].get(addr + i));
        return out.every((v) => v !== undefined) ? (out as number[]) : undefined;
      }, []);
    const word = (table: 'input-register' | 'holding-register') => (addr: number, _unit: number, cb: Callback<number>) => read(table, addr, 1, cb, (s) => s.words[table].get(addr));
    const bit = (table: 'coil' | 'discrete-input') => (addr: number, _unit: number, cb: Callback<boolean>) => read(table, addr, 1, cb, (s) => s.bits[table].get(addr));
    const vector = {
      getMultipleInputRegisters: words('input-register'),
      getMultipleHoldingRegisters: words('holding-register'),
      getInputRegister: word('input-register'),
      getHoldingRegister: word('holding-register'),
      getCoil: bit('coil'),
      getDiscreteInput: bit('discrete-input'),
      setCoil: (addr: number, value: boolean, _unit: number, cb: Callback<void>) => {
        self?.bits.coil.set(addr, value);
        options.onWrite?.('coil', addr, value);
        cb(null);
      },
      setRegister: (addr: number, value: number, _unit: number, cb: Callback<void>) => {
        self?.words['holding-register'].set(addr, value);
        options.onWrite?.('holding-register', addr, value);
        cb(null);
      },
    };
    // Callback-style handlers let a fault stay silent (the client then times out, as with a dead gateway).
    const unit = options.unitId === undefined ? {} : { unitID: options.unitId };
    const where = options.serial ? options.serial.path : `${host}:${port}`;
    const server = options.serial
      ? new ServerSerial(vector as unknown as IServiceVector, { path: options.serial.path, baudRate: options.serial.baudRate ?? 9600, ...unit })
      : new ServerTCP(vector as unknown as IServiceVector, { host, port, ...unit });
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', (err: Error) => reject(new SimulatorError('SIM_ERR_MODBUS', `modbus server cannot listen on ${where}: ${err.message}`, { cause: err })));
      server.once('error', (err: Error) => reject(new SimulatorError('SIM_ERR_MODBUS', `modbus server cannot open ${where}: ${err.message}`, { cause: err })));
    });
    server.on('socketError', () => undefined);
    server.on('error', () => undefined);
    self = new RegisterServer(options.map, server, host, port);
    for (const a of Object.values(options.map.actions ?? {})) {
      if (a.table === 'coil') self.bits.coil.set(a.address, false);
      else self.words['holding-register'].set(a.address, 0);
    }
    return self;
  }

  get url(): string {
    return `modbus-tcp://${this.host}:${this.port}`;
  }

  /** Puts contract readings into their registers, encoded as the map says; readings the map lacks are ignored. */
  setReadings(readings: Readonly<Record<string, unknown>>): void {
    for (const p of this.map.points) {
      const v = readings[p.reading];
      if (v === undefined) continue;
      const raw = toRaw(this.map, p, v as ReadingValue);
      if (typeof raw === 'boolean') {
        if (p.table === 'coil' || p.table === 'discrete-input') this.bits[p.table].set(p.address, raw);
      } else if (p.table === 'input-register' || p.table === 'holding-register') {
        raw.forEach((w, i) => this.words[p.table as 'input-register'].set(p.address + i, w));
      }
    }
  }

  close(): Promise<void> {
    if (this.server instanceof ServerTCP) for (const sock of this.server.socks.keys()) sock.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
