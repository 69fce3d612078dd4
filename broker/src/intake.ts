import type { Socket } from 'node:net';
import type { ConnectionLog } from './connection-log.js';
import type { DenialLog } from './denials.js';
import type { SocketBudget } from './socket-budget.js';

export interface IntakeDeps {
  budget: SocketBudget;
  denials: DenialLog;
  connectionLog: ConnectionLog;
  maxConnections: number;
  connectTimeoutMs: number;
  /** Gives a socket that has started talking to aedes (through the packet-size guard). */
  handOver(socket: Socket): void;
}

/**
 * From an accepted socket to aedes. `onRawConnection` sees each TCP connection first, before any TLS
 * work, and admits it or not (socket-budget.ts). `onConnection` gets it ready to speak MQTT: a socket
 * that has sent nothing yet gets no aedes client (parser, timers, listeners), only a timer. Thousands
 * of idle sockets, opened and closed again by the CONNECT timeout in waves, then cost a socket each
 * instead of a client's set-up and tear-down; aedes' own connectTimeout bounds a CONNECT that has
 * begun but does not finish.
 */
export function createIntake(deps: IntakeDeps): { onRawConnection(socket: Socket): boolean; onConnection(socket: Socket): void } {
  const { budget, denials, connectionLog } = deps;
  return {
    onRawConnection(socket) {
      const admission = budget.admit(socket);
      if (!admission.ok) {
        denials.deny('too_many_connections', { remoteAddress: socket.remoteAddress, detail: admission.detail });
        return false;
      }
      if (admission.evicted !== undefined) {
        const detail = `socket cap ${deps.maxConnections} reached: the oldest socket waiting to log in made room`;
        connectionLog.write('info', admission.evicted, { event: 'mqtt_socket_replaced', remoteAddress: admission.evicted, detail }, 'idle socket closed to make room');
      }
      return true;
    },
    onConnection(socket) {
      socket.setNoDelay(true);
      socket.on('error', () => undefined); // a reset before the first byte must not throw; the guard listens after
      const timer = setTimeout(() => socket.destroy(), deps.connectTimeoutMs);
      socket.once('close', () => clearTimeout(timer));
      socket.once('data', (first: Buffer) => {
        clearTimeout(timer);
        socket.pause(); // the guard resumes it when aedes reads
        socket.unshift(first);
        deps.handOver(socket);
      });
    },
  };
}
