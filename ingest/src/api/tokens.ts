import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IngestError } from '../errors.js';
import { isRole, type ApiPrincipal, type Role } from './roles.js';

/**
 * API bearer tokens, stored hashed. A token is 32 random bytes (`tsu_<base64url>`), so a plain SHA-256
 * is enough to make the stored file useless to a thief (no dictionary can reach 256 bits), and it costs
 * microseconds per request where scrypt would cost tens of milliseconds.
 *
 * File: `${DATA_DIR}/auth/tokens.jsonl`, append-only, one change per line:
 *   {"v":1,"op":"add","id":"t_…","name":"…","role":"water-bureau","sha256":"<hex>","createdAt":<epoch ms>}
 *   {"v":1,"op":"revoke","id":"t_…","at":<epoch ms>}
 * (Files written before times were epoch ms hold ISO 8601 strings there; they are read as well.)
 * Written by the CLI (`npm run tokens`), read by the API, which re-reads the file when it changes.
 */
export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  sha256: string;
  /** Epoch ms, the API's one time format. */
  createdAt: number;
  revokedAt: number | null;
}

/** Epoch ms from a stored time: a number, or an ISO 8601 string of an older line; null when unreadable. */
function storedTime(v: unknown): number | null {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

export interface TokenStore {
  /** The principal a presented token stands for, or undefined (unknown or revoked). */
  authenticate(token: string): Promise<ApiPrincipal | undefined>;
}

export function tokensPathFor(dataDir: string): string {
  return join(dataDir, 'auth', 'tokens.jsonl');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Longest Authorization value worth hashing; anything longer is refused unread. */
const MAX_TOKEN_LENGTH = 512;

function parseLines(text: string): Map<string, TokenRecord> {
  const byId = new Map<string, TokenRecord>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a torn last append; the CLI writes whole lines with one write call
    }
    if (entry.op === 'add' && typeof entry.id === 'string' && typeof entry.sha256 === 'string' && isRole(entry.role)) {
      byId.set(entry.id, { id: entry.id, name: String(entry.name ?? ''), role: entry.role, sha256: entry.sha256, createdAt: storedTime(entry.createdAt) ?? 0, revokedAt: null });
    } else if (entry.op === 'revoke' && typeof entry.id === 'string') {
      const t = byId.get(entry.id);
      // A revoke line without a readable time still revokes.
      if (t) byId.set(t.id, { ...t, revokedAt: storedTime(entry.at) ?? 0 });
    }
  }
  return byId;
}

/** Reads the token file (missing file = no tokens). */
export async function readTokens(path: string): Promise<TokenRecord[]> {
  try {
    return [...parseLines(await readFile(path, 'utf8')).values()];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function appendLine(path: string, entry: object): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const fh = await open(path, 'a', 0o600);
  try {
    await fh.write(`${JSON.stringify(entry)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates a token; the plain value is returned once and never stored. */
export async function addToken(path: string, role: Role, name: string): Promise<{ token: string; record: TokenRecord }> {
  if (!isRole(role)) throw new IngestError('INGEST_ERR_BAD_REQUEST', `role: must be one of admin, field-engineer, water-bureau, disaster-ops, got "${String(role)}"`);
  const token = `tsu_${randomBytes(32).toString('base64url')}`;
  const record: TokenRecord = { id: `t_${randomBytes(6).toString('hex')}`, name: name.slice(0, 120), role, sha256: sha256Hex(token), createdAt: Date.now(), revokedAt: null };
  await appendLine(path, { v: 1, op: 'add', id: record.id, name: record.name, role, sha256: record.sha256, createdAt: record.createdAt });
  return { token, record };
}

export async function revokeToken(path: string, id: string): Promise<TokenRecord> {
  const existing = (await readTokens(path)).find((t) => t.id === id);
  if (!existing) throw new IngestError('INGEST_ERR_NOT_FOUND', `no token with id "${id.slice(0, 80)}"`);
  const at = Date.now();
  await appendLine(path, { v: 1, op: 'revoke', id, at });
  return { ...existing, revokedAt: at };
}

/**
 * The API's view of the token file plus the bootstrap admin token (TSUNAGARU_ADMIN_TOKEN). The file
 * is stat'ed on each lookup and re-read when its size, mtime or inode changed, so `npm run tokens --
 * add|revoke` takes effect on the next request without a restart.
 */
export class FileTokenStore implements TokenStore {
  private byHash = new Map<string, ApiPrincipal>();
  private signature = '';
  private readonly bootstrapHash: string | undefined;

  constructor(
    private readonly path: string | undefined,
    bootstrapAdminToken: string | undefined,
  ) {
    this.bootstrapHash = bootstrapAdminToken ? sha256Hex(bootstrapAdminToken) : undefined;
  }

  async authenticate(token: string): Promise<ApiPrincipal | undefined> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = sha256Hex(token);
    if (hash === this.bootstrapHash) return { tokenId: 'bootstrap', name: 'TSUNAGARU_ADMIN_TOKEN', role: 'admin' };
    await this.refresh();
    return this.byHash.get(hash);
  }

  private async refresh(): Promise<void> {
    if (!this.path) return;
    let sig: string;
    try {
      const st = await stat(this.path);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      sig = 'missing';
    }
    if (sig === this.signature) return;
    const next = new Map<string, ApiPrincipal>();
    for (const t of await readTokens(this.path)) if (t.revokedAt === null) next.set(t.sha256, { tokenId: t.id, name: t.name, role: t.role });
    this.byHash = next;
    this.signature = sig;
  }
}
