import { connect, type Socket } from 'node:net';
import { connectPacket } from './mqtt-bytes.js';

export interface RawResult {
  /** The broker closed (or reset) the connection within the wait. */
  closedByBroker: boolean;
  /** Bytes the broker sent back. */
  received: Buffer;
  /** CONNACK return code of the login, when `login` was given. */
  loginCode?: number;
}

/**
 * Opens a TCP connection, optionally logs in with a valid CONNECT, writes `chunks`, and waits up to
 * `waitMs` for the broker to close it; then closes it from this side.
 */
export function rawExchange(
  port: number,
  chunks: readonly Buffer[],
  options: { login?: { username: string; password: string }; waitMs?: number; host?: string } = {},
): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, options.host ?? '127.0.0.1');
    const parts: Buffer[] = [];
    let settled = false;
    let loginCode: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByBroker: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ closedByBroker, received: Buffer.concat(parts), ...(loginCode !== undefined ? { loginCode } : {}) });
    };
    const sendAll = () => {
      for (const c of chunks) if (!socket.destroyed) socket.write(c);
      timer = setTimeout(() => finish(false), options.waitMs ?? 1000);
    };
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('data', (d: Buffer) => {
      if (options.login && loginCode === undefined && parts.length === 0 && d[0] === 0x20) {
        loginCode = d[3];
        parts.push(d.subarray(4));
        sendAll();
        return;
      }
      parts.push(d);
    });
    socket.once('connect', () => {
      if (options.login) {
        const { username, password } = options.login;
        socket.write(connectPacket({ clientId: `${username}:raw${Math.random().toString(36).slice(2, 8)}`, username, password }));
      } else sendAll();
    });
  });
}
