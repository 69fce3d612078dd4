import type { Socket } from 'node:net';

/**
 * How many sockets the MQTT listeners hold, and who may take the last ones. A socket costs a file
 * descriptor and memory before its owner has proved anything, so:
 *
 * - at most `maxUnauthenticatedPerAddress` sockets from one source address may be waiting to log in
 *   (TLS handshake, CONNECT not yet sent, secret being verified). Logged-in sessions do not count: a
 *   fleet behind one carrier NAT or private APN shares an address, and each of its devices has proved
 *   its secret. An idle socket is closed by the CONNECT timeout anyway; this bounds what one address
 *   holds in the meantime.
 * - at `maxSockets`, a new socket takes the place of the oldest one that has been waiting to log in
 *   for at least EVICT_AFTER_MS; logged-in sessions are never closed to make room. Only when there is
 *   no such socket is the new one refused. So idle sockets from many addresses cannot keep devices out.
 */
export interface SocketBudgetOptions {
  maxSockets: number;
  maxUnauthenticatedPerAddress: number;
}

/** Every socket gets this long to log in before a newcomer may take its place (no churn among newcomers). */
export const EVICT_AFTER_MS = 1000;

interface Entry {
  socket: Socket;
  address: string | undefined;
  key: string;
  since: number;
  loggedIn: boolean;
}

export type Admission = { ok: true; evicted?: string | undefined } | { ok: false; scope: 'total' | 'address'; detail: string };

/** The same connection seen as its raw TCP socket and as the TLS socket over it. */
const keyOf = (socket: Socket): string => `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
let anonymous = 0;

export class SocketBudget {
  private readonly entries = new Map<string, Entry>();
  /** Not logged in yet, oldest first. */
  private readonly waiting = new Set<Entry>();
  private readonly waitingByAddress = new Map<string, number>();
  private evictions = 0;

  constructor(private readonly options: SocketBudgetOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** Admits a raw socket just accepted, or says why not. May close another socket to make room. */
  admit(socket: Socket): Admission {
    const address = socket.remoteAddress;
    if (address !== undefined && (this.waitingByAddress.get(address) ?? 0) >= this.options.maxUnauthenticatedPerAddress) {
      return { ok: false, scope: 'address', detail: `${this.options.maxUnauthenticatedPerAddress} sockets from this address are not logged in yet` };
    }
    let evicted: string | undefined;
    if (this.entries.size >= this.options.maxSockets) {
      const oldest = this.waiting.values().next().value;
      if (!oldest || performance.now() - oldest.since < EVICT_AFTER_MS) {
        return { ok: false, scope: 'total', detail: `${this.entries.size} sockets open, limit ${this.options.maxSockets}, none idle to replace` };
      }
      this.remove(oldest);
      oldest.socket.destroy();
      this.evictions++;
      evicted = oldest.address;
    }
    // A socket already reset by its peer has no address left: give it a key of its own.
    const key = address === undefined ? `gone|${++anonymous}` : keyOf(socket);
    const entry: Entry = { socket, address, key, since: performance.now(), loggedIn: false };
    this.entries.set(entry.key, entry);
    this.waiting.add(entry);
    if (address !== undefined) this.waitingByAddress.set(address, (this.waitingByAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      if (this.entries.get(entry.key) === entry) this.remove(entry);
    });
    return { ok: true, evicted };
  }

  /** The connection on `socket` (raw or TLS) has logged in: it no longer counts as waiting. */
  loggedIn(socket: Socket): void {
    const entry = this.entries.get(keyOf(socket));
    if (!entry || entry.loggedIn) return;
    this.stopWaiting(entry);
    entry.loggedIn = true;
  }

  stats(): { sockets: number; waitingForLogin: number; evicted: number } {
    return { sockets: this.entries.size, waitingForLogin: this.waiting.size, evicted: this.evictions };
  }

  /** Every socket still open (to destroy at close). */
  sockets(): Socket[] {
    return [...this.entries.values()].map((e) => e.socket);
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    if (!entry.loggedIn) this.stopWaiting(entry);
  }

  private stopWaiting(entry: Entry): void {
    if (!this.waiting.delete(entry) || entry.address === undefined) return;
    const n = (this.waitingByAddress.get(entry.address) ?? 1) - 1;
    if (n <= 0) this.waitingByAddress.delete(entry.address);
    else this.waitingByAddress.set(entry.address, n);
  }
}
