import { EdgeAgentError, type EdgeAgentErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { ModbusDriverError, type BitTable, type ModbusDriver, type WordTable } from './driver.js';

export interface ModbusBusOptions {
  /** Named in every error, so a log line says which device failed. */
  deviceId: string;
  /** Per attempt, ms. Default 1000. */
  timeoutMs?: number;
  /** Extra attempts after a timeout, a broken link, or a "busy" / gateway exception. Default 2. */
  retries?: number;
  /** Pause between attempts, ms. Default 100. */
  retryDelayMs?: number;
  /** Requests that may wait behind the running one; more are refused (EDGE_ERR_MODBUS_QUEUE_FULL). Default 32. */
  queueLimit?: number;
  logger?: Logger;
}

export interface BusStats {
  requests: number;
  /** Requests that failed after all their attempts. */
  failures: number;
  timeouts: number;
  exceptions: number;
  ioErrors: number;
  retries: number;
  refused: number;
  queueDepth: number;
  lastError: { code: EdgeAgentErrorCode; message: string; at: number } | undefined;
}

interface Job<T> {
  what: string;
  unitId: number;
  run: (driver: ModbusDriver, timeoutMs: number) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: EdgeAgentError) => void;
}

/** Exceptions worth another attempt: the device or gateway said "busy" or "target did not answer". */
const CAN_RETRY_EXCEPTIONS = new Set([5, 6, 10, 11]);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One Modbus bus (a serial line or a TCP connection): one request at a time, in arrival order, with a
 * bounded queue, a timeout per attempt and retries (style: EdgeX device-modbus). A failed request rejects
 * with an EdgeAgentError naming device, registers and cause; it never stops the bus for the next one.
 */
export class ModbusBus {
  private readonly o: Required<Omit<ModbusBusOptions, 'logger'>> & { logger: Logger };
  private readonly queue: Job<unknown>[] = [];
  private running = false;
  private closed = false;
  private readonly counters: Omit<BusStats, 'queueDepth' | 'lastError'> = { requests: 0, failures: 0, timeouts: 0, exceptions: 0, ioErrors: 0, retries: 0, refused: 0 };
  private lastError: BusStats['lastError'];

  constructor(
    readonly driver: ModbusDriver,
    options: ModbusBusOptions,
  ) {
    this.o = { timeoutMs: 1000, retries: 2, retryDelayMs: 100, queueLimit: 32, logger: silentLogger, ...options };
  }

  stats(): BusStats {
    return { ...this.counters, queueDepth: this.queue.length, lastError: this.lastError };
  }

  readBits(table: BitTable, unitId: number, address: number, count: number, label = ''): Promise<boolean[]> {
    return this.enqueue(`read ${table} ${range(address, count)}${label}`, unitId, (d, t) => d.readBits(table, unitId, address, count, t));
  }

  readRegisters(table: WordTable, unitId: number, address: number, count: number, label = ''): Promise<number[]> {
    return this.enqueue(`read ${table} ${range(address, count)}${label}`, unitId, (d, t) => d.readRegisters(table, unitId, address, count, t));
  }

  writeCoil(unitId: number, address: number, value: boolean, label = ''): Promise<void> {
    return this.enqueue(`write coil ${address}${label}`, unitId, (d, t) => d.writeCoil(unitId, address, value, t));
  }

  writeRegister(unitId: number, address: number, value: number, label = ''): Promise<void> {
    return this.enqueue(`write holding-register ${address}${label}`, unitId, (d, t) => d.writeRegister(unitId, address, value, t));
  }

  /** Refuses new requests, fails the waiting ones, and closes the driver once the running one ends. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(this.fail(job, 'EDGE_ERR_MODBUS_IO', 'the bus was closed', 0, undefined, false));
    while (this.running) await sleep(10);
    await this.driver.close();
  }

  private enqueue<T>(what: string, unitId: number, run: Job<T>['run']): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job<T> = { what, unitId, run, resolve, reject };
      if (this.closed) return reject(this.fail(job, 'EDGE_ERR_MODBUS_IO', 'the bus is closed', 0, undefined, false));
      if (this.queue.length >= this.o.queueLimit) {
        this.counters.refused++;
        return reject(this.fail(job, 'EDGE_ERR_MODBUS_QUEUE_FULL', `${this.queue.length} requests already wait for the bus; poll less often or raise modbus.queueLimit`, 0));
      }
      this.queue.push(job as Job<unknown>);
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        this.counters.requests++;
        try {
          job.resolve(await this.attempt(job));
        } catch (err) {
          this.counters.failures++;
          const e = err as EdgeAgentError;
          this.lastError = { code: e.code, message: e.message, at: Date.now() };
          job.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async attempt<T>(job: Job<T>): Promise<T> {
    const attempts = this.o.retries + 1;
    let last: ModbusDriverError | undefined;
    for (let n = 1; n <= attempts; n++) {
      if (n > 1) {
        this.counters.retries++;
        await sleep(this.o.retryDelayMs);
      }
      try {
        if (!this.driver.isOpen) await this.driver.open();
        return await this.withGuard(job.run(this.driver, this.o.timeoutMs));
      } catch (err) {
        last = err instanceof ModbusDriverError ? err : new ModbusDriverError('io', (err as Error).message, undefined, { cause: err });
        this.count(last);
        // After a timeout or a broken link the connection may hold a late answer: start clean.
        if (last.kind !== 'exception') await this.driver.close().catch(() => undefined);
        const canRetry = last.kind !== 'exception' || CAN_RETRY_EXCEPTIONS.has(last.exceptionCode ?? -1);
        this.o.logger.debug({ deviceId: this.o.deviceId, what: job.what, attempt: n, err: last.message }, 'modbus attempt failed');
        if (!canRetry) throw this.fromDriver(job, last, n);
      }
    }
    throw this.fromDriver(job, last!, attempts);
  }

  /** The driver's own timeout should fire first; this catches a driver that never settles. */
  private withGuard<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ModbusDriverError('timeout', `no answer within ${this.o.timeoutMs} ms`)), this.o.timeoutMs + 500);
    });
    return Promise.race([p, guard]).finally(() => clearTimeout(timer));
  }

  private count(err: ModbusDriverError): void {
    if (err.kind === 'timeout') this.counters.timeouts++;
    else if (err.kind === 'exception') this.counters.exceptions++;
    else this.counters.ioErrors++;
  }

  private fromDriver(job: { what: string; unitId: number }, err: ModbusDriverError, attempts: number): EdgeAgentError {
    const code: EdgeAgentErrorCode = err.kind === 'timeout' ? 'EDGE_ERR_MODBUS_TIMEOUT' : err.kind === 'exception' ? 'EDGE_ERR_MODBUS_EXCEPTION' : 'EDGE_ERR_MODBUS_IO';
    const cause = err.kind === 'timeout' ? `no answer within ${this.o.timeoutMs} ms` : err.message;
    return this.fail(job, code, cause, attempts, err);
  }

  private fail(job: { what: string; unitId: number }, code: EdgeAgentErrorCode, cause: string, attempts: number, err?: unknown, canRetry?: boolean): EdgeAgentError {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const message = `device "${this.o.deviceId}": ${job.what} at unit ${job.unitId} via ${this.driver.endpoint} failed${tries}: ${cause}`;
    return new EdgeAgentError(code, message, { deviceId: this.o.deviceId, cause: err, ...(canRetry === undefined ? {} : { canRetry }) });
  }
}

function range(address: number, count: number): string {
  return count === 1 ? String(address) : `${address}–${address + count - 1}`;
}
