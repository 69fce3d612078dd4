import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidDeviceId } from '@tsunagaru/firmware-contracts';
import { writeFileAtomic } from './atomic-write.js';
import { EdgeAgentError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';

/** Where a device is in its message numbering (contract v1, "Envelope": `boot`, `seq`). */
export interface IdentitySnapshot {
  boot: number;
  /** The seq the next Telemetry or Event of this boot will carry. */
  nextSeq: number;
}

/**
 * Keeps the boot counter and the per-boot seq of one device. Ingest detects lost data from seq gaps
 * within a boot, and tells sessions apart by boot, so `boot` must never repeat for a device.
 */
export interface IdentityStore {
  /** Starts a new boot: increments the boot counter, resets seq to 0, and persists both before resolving. */
  nextBoot(): Promise<number>;
  /** Current boot and next seq. Throws EDGE_ERR_NOT_STARTED before the first `nextBoot()`. */
  current(): IdentitySnapshot;
  /** Consumes and returns the next seq of the current boot. Persistence may lag; see `flush()`. */
  takeSeq(): number;
  /** Resolves once everything taken so far is persisted. */
  flush(): Promise<void>;
}

function notStarted(): EdgeAgentError {
  return new EdgeAgentError('EDGE_ERR_NOT_STARTED', 'identity store: call nextBoot() before using seq');
}

export interface MemoryIdentityStoreOptions {
  /**
   * Boot returned by the first `nextBoot()`. Default 0. A process that cannot persist (a simulator) should
   * pass something that grows across runs, e.g. epoch seconds, so a restart never reuses a boot.
   */
  firstBoot?: number;
}

/** Identity kept in memory only: for simulators and tests. */
export class MemoryIdentityStore implements IdentityStore {
  private boot: number | undefined;
  private seq = 0;
  private readonly firstBoot: number;

  constructor(options: MemoryIdentityStoreOptions = {}) {
    this.firstBoot = options.firstBoot ?? 0;
    if (!Number.isSafeInteger(this.firstBoot) || this.firstBoot < 0) {
      throw new EdgeAgentError('EDGE_ERR_INVALID_OPTIONS', `firstBoot: must be an integer ≥ 0, got ${String(options.firstBoot)}`);
    }
  }

  nextBoot(): Promise<number> {
    this.boot = this.boot === undefined ? this.firstBoot : this.boot + 1;
    this.seq = 0;
    return Promise.resolve(this.boot);
  }

  current(): IdentitySnapshot {
    if (this.boot === undefined) throw notStarted();
    return { boot: this.boot, nextSeq: this.seq };
  }

  takeSeq(): number {
    if (this.boot === undefined) throw notStarted();
    return this.seq++;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface FileIdentityStoreOptions {
  /** State directory; created if missing. One file per device: `<deviceId>.identity.json`. */
  dir: string;
  deviceId: string;
  /** Delay before a taken seq is written, ms. Default 1000: batches writes instead of one fsync per message. */
  persistDelayMs?: number;
  /** Epoch ms; used only to derive a fresh boot when the state file is corrupt. Default Date.now. */
  clock?: () => number;
  logger?: Logger;
}

interface IdentityFile {
  v: 1;
  deviceId: string;
  boot: number;
  nextSeq: number;
}

/**
 * Identity persisted in a JSON file, replaced atomically (tmp + fsync + rename) so a power cut never
 * leaves a torn file. The boot is durable before `nextBoot()` resolves; seq is written lazily, so after a
 * crash the file may lag the last seq sent, which only matters for diagnostics (the next boot restarts at 0).
 */
export class FileIdentityStore implements IdentityStore {
  readonly file: string;
  private readonly deviceId: string;
  private readonly persistDelayMs: number;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private state: IdentityFile | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  /** Writes are chained so two never race on the same file. */
  private writing: Promise<void> = Promise.resolve();

  constructor(options: FileIdentityStoreOptions) {
    if (!isValidDeviceId(options.deviceId)) {
      throw new EdgeAgentError('EDGE_ERR_INVALID_OPTIONS', `deviceId: invalid "${options.deviceId}"`);
    }
    this.deviceId = options.deviceId;
    this.file = join(options.dir, `${options.deviceId}.identity.json`);
    this.persistDelayMs = options.persistDelayMs ?? 1000;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  async nextBoot(): Promise<number> {
    await this.flush();
    const previous = this.state ?? (await this.load());
    const boot = previous === undefined ? 0 : previous.boot + 1;
    const next: IdentityFile = { v: 1, deviceId: this.deviceId, boot, nextSeq: 0 };
    await this.enqueueWrite(next);
    this.state = next;
    this.logger.info(
      { deviceId: this.deviceId, boot, previousBoot: previous?.boot, previousBootSeqAtLeast: previous?.nextSeq },
      'identity: new boot',
    );
    return boot;
  }

  current(): IdentitySnapshot {
    if (!this.state) throw notStarted();
    return { boot: this.state.boot, nextSeq: this.state.nextSeq };
  }

  takeSeq(): number {
    if (!this.state) throw notStarted();
    const seq = this.state.nextSeq++;
    this.dirty = true;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush().catch((err: unknown) => this.logger.warn({ deviceId: this.deviceId, err }, 'identity: seq not persisted'));
      }, this.persistDelayMs);
      // A pending seq write must not keep a stopping process alive; stop() calls flush() explicitly.
      this.timer.unref();
    }
    return seq;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty && this.state) {
      this.dirty = false;
      await this.enqueueWrite({ ...this.state });
    } else {
      await this.writing;
    }
  }

  private enqueueWrite(content: IdentityFile): Promise<void> {
    const write = this.writing.then(() => writeFileAtomic(this.file, `${JSON.stringify(content)}\n`));
    // Keep the chain alive after a failure; the caller of this write still sees the error.
    this.writing = write.catch(() => {});
    return write.catch((err: unknown) => {
      throw new EdgeAgentError('EDGE_ERR_IDENTITY_IO', `identity: cannot write ${this.file}: ${(err as Error).message}`, {
        deviceId: this.deviceId,
        cause: err,
      });
    });
  }

  /** Reads the state file; undefined when there is none (a device's very first start). */
  private async load(): Promise<IdentityFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new EdgeAgentError('EDGE_ERR_IDENTITY_IO', `identity: cannot read ${this.file}: ${(err as Error).message}`, {
        deviceId: this.deviceId,
        cause: err,
      });
    }
    const parsed = parseIdentityFile(text, this.deviceId);
    if (parsed) return parsed;
    return this.recoverFromCorruptFile();
  }

  /**
   * A corrupt file must not stop the device from booting, and the new boot must not repeat an old one.
   * Boots count up from 0 by one per start, so epoch seconds are far above any boot ever reached: use them.
   */
  private async recoverFromCorruptFile(): Promise<IdentityFile> {
    const aside = `${this.file}.corrupt-${this.clock()}`;
    await rename(this.file, aside).catch(() => {});
    const boot = Math.floor(this.clock() / 1000) - 1;
    this.logger.error({ deviceId: this.deviceId, file: this.file, movedTo: aside, nextBoot: boot + 1 }, 'identity: state file corrupt; boot derived from the clock');
    return { v: 1, deviceId: this.deviceId, boot, nextSeq: 0 };
  }
}

function isCounter(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseIdentityFile(text: string, deviceId: string): IdentityFile | undefined {
  try {
    const value = JSON.parse(text) as Partial<IdentityFile>;
    if (value.v !== 1 || value.deviceId !== deviceId || !isCounter(value.boot) || !isCounter(value.nextSeq)) return undefined;
    return { v: 1, deviceId, boot: value.boot, nextSeq: value.nextSeq };
  } catch {
    return undefined;
  }
}
