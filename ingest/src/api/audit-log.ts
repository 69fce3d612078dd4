import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Who did what, when: provisioning, secret rotation, disabling/revocation, token changes, command
 * sends and alert acknowledgements. Append-only JSON Lines at `${DATA_DIR}/audit/audit.jsonl`, one
 * fsynced line per entry, shared by the API and the CLIs (`npm run devices`, `npm run tokens`), which
 * append to the same file (O_APPEND: whole lines, never interleaved). Nothing here ever rewrites it.
 */
export interface AuditActor {
  /** `token`: an API bearer token; `cli`: a command run on the server by an OS user. */
  kind: 'token' | 'cli';
  /** Token id (`bootstrap` for TSUNAGARU_ADMIN_TOKEN) or OS user name. */
  id: string;
  name?: string;
  role?: string;
}

export interface AuditEntryInput {
  /** Dotted verb, e.g. `device.provision`, `device.rotate-secret`, `command.send`, `alert.acknowledge`. */
  action: string;
  /** What it was done to: a device id, token id, alert id… */
  target: string;
  outcome?: 'ok' | 'failed';
  /** Extra facts (never secrets or tokens). */
  detail?: Record<string, unknown>;
  /** Client address for API calls. */
  ip?: string;
}

export interface AuditEntry extends AuditEntryInput {
  /** Epoch ms (the API's one time format). Lines written before this was a number hold ISO 8601; read() converts them. */
  at: number;
  actor: AuditActor;
  outcome: 'ok' | 'failed';
}

export interface AuditQuery {
  limit?: number;
  action?: string;
  target?: string;
  actorId?: string;
  /** Epoch ms: entries strictly before. */
  before?: number;
}

export interface AuditLog {
  record(actor: AuditActor, entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(query?: AuditQuery): Promise<AuditEntry[]>;
}

export function auditPathFor(dataDir: string): string {
  return join(dataDir, 'audit', 'audit.jsonl');
}

function makeEntry(actor: AuditActor, input: AuditEntryInput, now: Date): AuditEntry {
  return {
    at: now.getTime(),
    actor: { kind: actor.kind, id: actor.id.slice(0, 120), ...(actor.name ? { name: actor.name.slice(0, 120) } : {}), ...(actor.role ? { role: actor.role } : {}) },
    action: input.action.slice(0, 80),
    target: input.target.slice(0, 200),
    outcome: input.outcome ?? 'ok',
    ...(input.detail ? { detail: input.detail } : {}),
    ...(input.ip ? { ip: input.ip } : {}),
  };
}

function matches(e: AuditEntry, q: AuditQuery): boolean {
  return (
    (!q.action || e.action === q.action) &&
    (!q.target || e.target === q.target) &&
    (!q.actorId || e.actor.id === q.actorId) &&
    (q.before === undefined || e.at < q.before)
  );
}

function select(entries: AuditEntry[], q: AuditQuery): AuditEntry[] {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const out: AuditEntry[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) if (matches(entries[i]!, q)) out.push(entries[i]!);
  return out;
}

export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];
  constructor(private readonly now: () => Date = () => new Date()) {}

  async record(actor: AuditActor, input: AuditEntryInput): Promise<AuditEntry> {
    const entry = makeEntry(actor, input, this.now());
    this.entries.push(entry);
    return entry;
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return select(this.entries, query);
  }
}

/** How much of the end of the file `list` reads: older entries stay in the file for offline tools. */
const LIST_WINDOW_BYTES = 16 * 1024 * 1024;

export class FileAuditLog implements AuditLog {
  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(actor: AuditActor, input: AuditEntryInput): Promise<AuditEntry> {
    const entry = makeEntry(actor, input, this.now());
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const fh = await open(this.path, 'a', 0o600);
    try {
      await fh.write(`${JSON.stringify(entry)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return entry;
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    let size: number;
    try {
      size = (await stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const start = Math.max(0, size - LIST_WINDOW_BYTES);
    const fh = await open(this.path, 'r');
    let text: string;
    try {
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    const lines = text.split('\n');
    if (start > 0) lines.shift(); // a partial first line
    const entries: AuditEntry[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as Omit<AuditEntry, 'at'> & { at: number | string };
        entries.push({ ...entry, at: typeof entry.at === 'string' ? Date.parse(entry.at) : entry.at });
      } catch {
        // a torn append at the very end: skip it
      }
    }
    return select(entries, query);
  }
}
