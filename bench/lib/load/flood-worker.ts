/**
 * Child process: an attacker, the same for every broker under test.
 *   logins   wrong-secret logins at a fixed rate, each from the next of many loopback source addresses
 *            (127.2.x.y), naming real devices: every attempt reaches the password check, none stays
 *            long enough on one address or one name to be locked out (a distributed guesser)
 *   sockets  `count` idle TCP connections that never send CONNECT, spread over addresses (127.3.x.y);
 *            one the broker closes is opened again after `reopenDelayMs`, as a determined attacker does
 *   held     how many of those idle sockets are open now
 *   stop     ends the flood and reports what it did
 */
import { connect as netConnect, type Socket } from 'node:net';
import { serveWorker, type WorkerMessage } from '../worker.js';
import { loopbackAddress, mqttConnect } from './wire.js';

let running = false;
let stats: Record<string, unknown> = {};
let stopFlood: (() => Promise<void>) | undefined;
const idle = new Set<Socket>();

async function logins(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { host, port, ratePerSec, addresses, usernames, maxInFlight } = m as unknown as {
    host: string;
    port: number;
    ratePerSec: number;
    addresses: number;
    usernames: string[];
    maxInFlight: number;
  };
  running = true;
  const codes: Record<string, number> = {};
  let attempts = 0;
  let skipped = 0;
  let inFlight = 0;
  const t0 = performance.now();
  const attempt = (i: number): void => {
    inFlight++;
    const name = usernames[i % usernames.length]!;
    mqttConnect({ host, port, clientId: name, username: name, password: `not-the-secret-${i}-000000`, localAddress: loopbackAddress('127.2', i, addresses), timeoutMs: 15_000 })
      .then(
        (socket) => {
          codes['0'] = (codes['0'] ?? 0) + 1;
          socket.destroy();
        },
        (err: unknown) => {
          const code = String((err as { returnCode?: number }).returnCode ?? (err as Error).message);
          codes[code] = (codes[code] ?? 0) + 1;
        },
      )
      .finally(() => inFlight--);
  };
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * ratePerSec) - attempts - skipped;
    for (let k = 0; k < due; k++) {
      if (inFlight >= maxInFlight) skipped++;
      else attempt(attempts++);
    }
  }, 10);
  stopFlood = async () => {
    clearInterval(ticker);
    const elapsed = (performance.now() - t0) / 1000;
    const settleBy = Date.now() + 20_000;
    while (inFlight > 0 && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 50));
    stats = { attempts, skipped, perSecond: attempts / elapsed, codes };
  };
  return {};
}

async function sockets(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { host, port, count, addresses, reopenDelayMs } = m as unknown as { host: string; port: number; count: number; addresses: number; reopenDelayMs: number };
  running = true;
  let opened = 0;
  let closedByBroker = 0;
  const open = (i: number): void => {
    if (!running) return;
    const s = netConnect({ host, port, localAddress: loopbackAddress('127.3', i, addresses) });
    s.on('error', () => undefined);
    s.once('connect', () => {
      opened++;
      idle.add(s);
    });
    s.once('close', () => {
      const wasOpen = idle.delete(s);
      if (!running) return;
      if (wasOpen) closedByBroker++;
      setTimeout(() => open(i), reopenDelayMs);
    });
  };
  // Open them at a brisk but finite pace (1000 per 100 ms), as a real attack ramps up.
  let next = 0;
  await new Promise<void>((resolve) => {
    const ramp = setInterval(() => {
      for (let k = 0; k < 1000 && next < count; k++) open(next++);
      if (next >= count) {
        clearInterval(ramp);
        resolve();
      }
    }, 100);
  });
  stopFlood = async () => {
    const held = idle.size;
    running = false;
    for (const s of idle) s.destroy();
    idle.clear();
    stats = { opened, closedByBroker, heldAtStop: held };
  };
  return {};
}

serveWorker({
  logins,
  sockets,
  held: async () => ({ held: idle.size }),
  stop: async () => {
    running = false;
    await stopFlood?.();
    stopFlood = undefined;
    return stats;
  },
});
