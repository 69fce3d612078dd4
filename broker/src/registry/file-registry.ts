import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BaseDeviceRegistry, type RegistryChange, type RegistryOptions } from './base-registry.js';
import { RegistryError } from './errors.js';
import { encodeChange, parseAppended, parseLog } from './registry-log.js';

export interface FileRegistryOptions extends RegistryOptions {
  /** The JSON Lines log, normally `registryPathFor(DATA_DIR)`. Its directory is created if missing. */
  path: string;
  /**
   * Read only: no compaction or repair at open, and every mutation throws REGISTRY_ERR_READ_ONLY.
   * The standalone broker opens read-only; the ingest is the one writer. Default false.
   */
  readOnly?: boolean;
  /**
   * Compact (and repair a torn tail) at open when writable. Default true for the one long-running
   * writer; false for short-lived extra writers such as `npm run devices`, which only append (an
   * O_APPEND line is safe beside a running ingest; a compaction's rename would not be).
   */
  compactAtOpen?: boolean;
  /** Watch the file for changes made by another process. Default true. */
  watch?: boolean;
  /** Milliseconds to wait after a file event before reading, so a burst of appends is read once. Default 50. */
  watchDebounceMs?: number;
  /** Milliseconds between fallback size checks (fs.watch can miss events on network/overlay filesystems); 0 = off. Default 2000. */
  pollIntervalMs?: number;
}

/** Appended changes read at once beyond which listeners hear one `null` (reload everything) instead. */
const MAX_ANNOUNCED_ONE_BY_ONE = 100;

/** Where the registry lives inside a data directory: `${dataDir}/registry/devices.jsonl`. */
export function registryPathFor(dataDir: string): string {
  return join(dataDir, 'registry', 'devices.jsonl');
}

/**
 * A registry persisted as an append-only JSON Lines file (format in registry-log.ts). Every change
 * is appended and fsynced before it is applied, so an acknowledged provisioning survives a power
 * cut. Other processes sharing the file (standalone broker + standalone ingest) pick up appends by
 * watching it. Supported sharing: one writer, any number of read-only readers.
 */
export class FileDeviceRegistry extends BaseDeviceRegistry {
  readonly path: string;
  readonly readOnly: boolean;
  /** Bytes of the file already applied (always at a line boundary). */
  private offset = 0;
  /** Inode of the file we read; a different one means the writer compacted (renamed a new file in). */
  private ino: number | undefined;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private readonly options: FileRegistryOptions;

  private constructor(options: FileRegistryOptions) {
    super(options);
    this.options = options;
    this.path = options.path;
    this.readOnly = options.readOnly ?? false;
  }

  /** Opens (creating the directory if needed), loads, repairs/compacts when writable, starts watching. */
  static async open(options: FileRegistryOptions): Promise<FileDeviceRegistry> {
    const registry = new FileDeviceRegistry(options);
    await registry.load();
    if (options.watch ?? true) registry.startWatching();
    return registry;
  }

  /** Reads changes other processes appended, now rather than at the next file event. */
  refresh(): Promise<void> {
    return this.serialize(() => this.catchUp());
  }

  override async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    await super.close();
  }

  protected override async beforeMutation(): Promise<void> {
    if (this.readOnly) throw new RegistryError('REGISTRY_ERR_READ_ONLY', `registry ${this.path} is open read-only`);
    // Apply anything another process appended first, so "id already taken" checks see it.
    await this.catchUp();
  }

  protected override persist(change: RegistryChange): Promise<void> {
    return this.persistBatch([change]);
  }

  /** One append and one fsync for the whole batch (a bulk import writes thousands of lines at a time). */
  protected override async persistBatch(changes: readonly RegistryChange[]): Promise<void> {
    const data = Buffer.from(changes.map(encodeChange).join(''), 'utf8');
    const created = this.ino === undefined;
    // Opened per append (not kept open) so a write always lands in the file now at `path`.
    const fh = await open(this.path, 'a', 0o600);
    try {
      // A large batch may be written in parts (write(2) may return short); O_APPEND puts each at the end.
      for (let done = 0; done < data.length; ) done += (await fh.write(data, done)).bytesWritten;
      await fh.sync();
      const st = await fh.stat();
      this.ino = st.ino;
      this.offset = st.size;
    } finally {
      await fh.close();
    }
    if (created) await fsyncDir(dirname(this.path));
  }

  private async load(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const snapshot = await readWhole(this.path);
    if (!snapshot) return;
    const parsed = parseLog(snapshot.content, this.path);
    for (const change of parsed.changes) this.apply(change);
    this.ino = snapshot.ino;
    this.offset = parsed.goodBytes;
    if (parsed.skippedTail) {
      this.logger.warn(
        { path: this.path, line: parsed.skippedTail.line, reason: parsed.skippedTail.reason },
        'registry: skipped a corrupt last line (an append torn by a crash?)',
      );
    }
    if (this.readOnly) return;
    if (this.options.compactAtOpen === false) {
      // Appending after a torn or unterminated line would glue our line to it; only a compacting writer repairs.
      if (parsed.skippedTail || parsed.missingFinalNewline) {
        throw new RegistryError('REGISTRY_ERR_CORRUPT', `${this.path}: the last line is incomplete; open it once with a compacting writer (the ingest) to repair it`);
      }
      return;
    }
    const live = this.devices.size + this.services.size;
    // Rewriting from live state both drops superseded lines and repairs a torn or unterminated tail.
    if (parsed.skippedTail || parsed.missingFinalNewline || parsed.lineCount > 2 * live) await this.compact();
  }

  /** Writes one line per live record to a temp file, fsyncs it, and renames it over the log. */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.compact-${process.pid}.tmp`;
    const changes: RegistryChange[] = [
      ...[...this.services.values()].map((record) => ({ op: 'service', record }) as const),
      ...this.listDevices().map((record) => ({ op: 'device', record }) as const),
    ];
    const fh = await open(tmp, 'w', 0o600);
    let size: number;
    let ino: number;
    try {
      await fh.write(changes.map(encodeChange).join(''));
      await fh.sync();
      ({ size, ino } = await fh.stat());
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await fsyncDir(dirname(this.path));
    this.ino = ino;
    this.offset = size;
  }

  /** Brings memory up to date with the file; runs inside the queue so it never races our own appends. */
  private async catchUp(): Promise<void> {
    if (this.closed) return;
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if ((this.ino !== undefined && st.ino !== this.ino) || st.size < this.offset) await this.reloadAll();
    else if (st.size > this.offset) await this.readAppended();
  }

  private async readAppended(): Promise<void> {
    const fh = await open(this.path, 'r');
    let chunk: Buffer;
    try {
      const { size, ino } = await fh.stat();
      if (this.ino !== undefined && ino !== this.ino) return this.reloadAll();
      this.ino = ino;
      chunk = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, this.offset);
      chunk = chunk.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const { changes, consumed, errors } = parseAppended(chunk);
    for (const reason of errors) this.logger.error({ path: this.path, reason }, 'registry: ignored a corrupt appended line');
    this.offset += consumed;
    const touched = new Set<string | null>();
    for (const change of changes) {
      this.apply(change);
      touched.add(change.op === 'device' ? change.record.id : null);
    }
    // Many at once (another process imported devices): one "reload everything" instead of one per device,
    // as each announcement makes the broker look at every live session.
    if (touched.size > MAX_ANNOUNCED_ONE_BY_ONE) this.notify(null);
    else for (const id of touched) this.notify(id);
  }

  private async reloadAll(): Promise<void> {
    const snapshot = await readWhole(this.path);
    let parsed;
    try {
      parsed = snapshot ? parseLog(snapshot.content, this.path) : undefined;
    } catch (err) {
      // Keep serving the last good state rather than dropping every device from memory.
      this.logger.error({ err, path: this.path }, 'registry: reload failed; keeping the previous state');
      return;
    }
    this.devices.clear();
    this.services.clear();
    for (const change of parsed?.changes ?? []) this.apply(change);
    this.ino = snapshot?.ino;
    this.offset = parsed?.goodBytes ?? 0;
    this.notify(null);
  }

  private startWatching(): void {
    const schedule = (): void => {
      if (this.closed || this.debounceTimer) return;
      this.debounceTimer = setTimeout(() => {
        this.debounceTimer = undefined;
        this.refresh().catch((err: unknown) => this.logger.error({ err, path: this.path }, 'registry: refresh failed'));
      }, this.options.watchDebounceMs ?? 50);
      this.debounceTimer.unref();
    };
    const file = basename(this.path);
    try {
      // Watch the directory, not the file: compaction renames a new file in, which a file watch would miss.
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (!name || name === file) schedule();
      });
      this.watcher.on('error', (err) => this.logger.warn({ err, path: this.path }, 'registry: file watch failed; relying on polling'));
    } catch (err) {
      this.logger.warn({ err, path: this.path }, 'registry: cannot watch the registry directory; relying on polling');
    }
    const pollMs = this.options.pollIntervalMs ?? 2000;
    if (pollMs > 0) {
      this.pollTimer = setInterval(schedule, pollMs);
      this.pollTimer.unref();
    }
  }
}

async function readWhole(path: string): Promise<{ content: Buffer; ino: number } | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { ino } = await fh.stat();
    return { content: await fh.readFile(), ino };
  } finally {
    await fh.close();
  }
}

/** fsync a directory so a created or renamed entry survives a power cut. */
async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
