import { exceptionError, ModbusDriverError, type BitTable, type ModbusDriver, type WordTable } from './driver.js';

export interface ScriptedRequest {
  op: 'read' | 'write';
  table: BitTable | WordTable;
  unitId: number;
  address: number;
  count: number;
}

/** What the script does with one request: answer it (undefined), time out, raise an exception, or break the link. */
export type ScriptedFault = undefined | 'timeout' | 'io' | { exception: number };

export interface ScriptedDriverOptions {
  /** Called for every request; return a fault to inject one. Default: answer everything. */
  script?: (req: ScriptedRequest) => ScriptedFault;
  /** Fail `open()` while this returns true. */
  refuseOpen?: () => boolean;
}

/**
 * An in-memory Modbus device for tests: four tables of values the test sets, and a script that injects
 * timeouts, exceptions or broken links on chosen requests. Unset addresses read as illegal data address,
 * as a real device answers.
 */
export class ScriptedDriver implements ModbusDriver {
  readonly endpoint = 'scripted';
  readonly bits = { coil: new Map<number, boolean>(), 'discrete-input': new Map<number, boolean>() };
  readonly words = { 'input-register': new Map<number, number>(), 'holding-register': new Map<number, number>() };
  readonly requests: ScriptedRequest[] = [];
  private open_ = false;

  constructor(private readonly options: ScriptedDriverOptions = {}) {}

  get isOpen(): boolean {
    return this.open_;
  }

  /** Sets registers (or bits) from `address` on. */
  set(table: BitTable | WordTable, address: number, values: readonly (number | boolean)[]): void {
    values.forEach((v, i) => {
      if (table === 'coil' || table === 'discrete-input') this.bits[table].set(address + i, v === true || v === 1);
      else this.words[table].set(address + i, Number(v) & 0xffff);
    });
  }

  open(): Promise<void> {
    if (this.options.refuseOpen?.()) return Promise.reject(new ModbusDriverError('io', 'cannot open scripted: refused by the script'));
    this.open_ = true;
    return Promise.resolve();
  }

  private async run<T>(req: ScriptedRequest, timeoutMs: number, answer: () => T): Promise<T> {
    this.requests.push(req);
    if (!this.open_) throw new ModbusDriverError('io', 'scripted is not open');
    const fault = this.options.script?.(req);
    if (fault === 'timeout') {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw new ModbusDriverError('timeout', 'no answer (timed out)');
    }
    if (fault === 'io') {
      this.open_ = false;
      throw new ModbusDriverError('io', 'connection reset by the script');
    }
    if (fault) throw exceptionError(fault.exception);
    return answer();
  }

  readBits(table: BitTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<boolean[]> {
    return this.run({ op: 'read', table, unitId, address, count }, timeoutMs, () =>
      Array.from({ length: count }, (_, i) => {
        const v = this.bits[table].get(address + i);
        if (v === undefined) throw exceptionError(2);
        return v;
      }),
    );
  }

  readRegisters(table: WordTable, unitId: number, address: number, count: number, timeoutMs: number): Promise<number[]> {
    return this.run({ op: 'read', table, unitId, address, count }, timeoutMs, () =>
      Array.from({ length: count }, (_, i) => {
        const v = this.words[table].get(address + i);
        if (v === undefined) throw exceptionError(2);
        return v;
      }),
    );
  }

  writeCoil(unitId: number, address: number, value: boolean, timeoutMs: number): Promise<void> {
    return this.run({ op: 'write', table: 'coil', unitId, address, count: 1 }, timeoutMs, () => void this.bits.coil.set(address, value));
  }

  writeRegister(unitId: number, address: number, value: number, timeoutMs: number): Promise<void> {
    return this.run({ op: 'write', table: 'holding-register', unitId, address, count: 1 }, timeoutMs, () => void this.words['holding-register'].set(address, value & 0xffff));
  }

  close(): Promise<void> {
    this.open_ = false;
    return Promise.resolve();
  }
}
