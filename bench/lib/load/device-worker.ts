/**
 * Child process: a fleet of devices on raw sockets, the same for every broker under test.
 *   connect  log the fleet in (bounded concurrency, spread over loopback source addresses)
 *   phase    publish telemetry: `saturate` (QoS 0: as fast as the sockets take it; QoS 1: a window of
 *            in-flight messages per device, one new message per PUBACK) or `rate` (a fixed total rate)
 *   open     how many sessions are still open
 * Each answer carries this process's CPU use, so a report can show the generator was not the limit.
 */
import type { Socket } from 'node:net';
import { buildTopic, type DeviceType } from '@tsunagaru/firmware-contracts';
import { serveWorker, type WorkerMessage } from '../worker.js';
import { loopbackAddress, mqttConnect, PACKET, PacketReader, PublishTemplate, sentAtText, wallClockMs } from './wire.js';

interface DeviceSpec {
  id: string;
  type: DeviceType;
  secret: string;
}

interface Session {
  device: DeviceSpec;
  socket: Socket;
  closed: boolean;
  blocked: boolean;
  nextId: number;
  /** Called with the number of PUBACKs in one read (the QoS 1 window refills from it). */
  onAcks: ((n: number) => void) | undefined;
}

const sessions: Session[] = [];
let closedDuringPhase = 0;
/** Messages of the current phase the subscriber has received (QoS 0 flow control). */
let credited = 0;
let onCredit: (() => void) | undefined;

/** Loopback source address of the i-th connection (127.1.x.y): a fleet comes from many addresses, not one. */
function addressFor(i: number, count: number): string | undefined {
  return count > 0 ? loopbackAddress('127.1', i, count) : undefined;
}

async function connect(m: WorkerMessage): Promise<Record<string, unknown>> {
  const { host, port, devices, concurrency, sourceAddresses } = m as unknown as {
    host: string;
    port: number;
    devices: DeviceSpec[];
    concurrency: number;
    sourceAddresses: number;
  };
  const codes: Record<string, number> = {};
  let firstError: string | undefined;
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const connectOne = async (): Promise<void> => {
    while (next < devices.length) {
      const i = next++;
      const device = devices[i]!;
      try {
        const socket = await mqttConnect({ host, port, clientId: device.id, username: device.id, password: device.secret, localAddress: addressFor(i, sourceAddresses) });
        const session: Session = { device, socket, closed: false, blocked: false, nextId: 1, onAcks: undefined };
        const reader = new PacketReader((type) => {
          if (type === PACKET.PUBACK) acks++;
        });
        let acks = 0;
        socket.on('data', (chunk: Buffer) => {
          reader.push(chunk);
          if (acks > 0) {
            const n = acks;
            acks = 0;
            session.onAcks?.(n);
          }
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          if (!session.closed) closedDuringPhase++;
          session.closed = true;
        });
        sessions.push(session);
        codes['0'] = (codes['0'] ?? 0) + 1;
      } catch (err) {
        const code = String((err as { returnCode?: number }).returnCode ?? (err as Error).message);
        codes[code] = (codes[code] ?? 0) + 1;
        firstError ??= `${device.id}: ${(err as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, connectOne));
  const elapsedMs = performance.now() - t0;
  return { connected: codes['0'] ?? 0, failed: devices.length - (codes['0'] ?? 0), codes, firstError, elapsedMs, cpu: cpuFraction(cpu0, elapsedMs) };
}

function cpuFraction(since: NodeJS.CpuUsage, elapsedMs: number): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000 / elapsedMs;
}

interface PhaseSpec {
  qos: 0 | 1;
  mode: 'saturate' | 'rate';
  durationMs: number;
  /** rate mode: messages per second over the whole fleet. */
  rate?: number;
  /** saturate at QoS 1: messages in flight per device. */
  window?: number;
  /**
   * saturate at QoS 0: messages sent but not yet seen by the subscriber, at most (the parent relays
   * the subscriber's count as `credit`). Without it the loopback sockets' buffers (megabytes each)
   * would queue minutes of backlog that outlive the phase.
   */
  budget?: number;
  payloadBytes: number;
}

const BATCH = 32;

async function phase(m: WorkerMessage): Promise<Record<string, unknown>> {
  const spec = m as unknown as PhaseSpec;
  const live = sessions.filter((s) => !s.closed);
  const templates = new Map(live.map((s) => [s, new PublishTemplate(buildTopic(s.device.type, s.device.id, 'telemetry'), spec.qos, spec.payloadBytes)]));
  let sent = 0;
  let acked = 0;
  let running = true;
  closedDuringPhase = 0;
  credited = 0;
  const budget = spec.budget ?? Infinity;

  const send = (s: Session, count: number, at: string): void => {
    if (s.closed || count <= 0) return;
    const tpl = templates.get(s)!;
    const size = tpl.bytes.length;
    const buf = Buffer.allocUnsafe(size * count);
    for (let k = 0; k < count; k++) {
      tpl.fill(buf, k * size, s.nextId, at);
      s.nextId = s.nextId === 65535 ? 1 : s.nextId + 1;
    }
    sent += count;
    if (!s.socket.write(buf) && !s.blocked) {
      s.blocked = true;
      s.socket.once('drain', () => {
        s.blocked = false;
        if (running && spec.mode === 'saturate' && spec.qos === 0) schedulePump();
      });
    }
  };

  // QoS 0 at saturation: round-robin over the sockets the kernel still accepts data on.
  let pumping = false;
  const pump = (): void => {
    pumping = false;
    if (!running) return;
    const at = sentAtText(wallClockMs());
    let any = false;
    for (const s of live) {
      if (sent - credited >= budget) return; // resumed by the next credit
      if (s.blocked || s.closed) continue;
      send(s, BATCH, at);
      any = true;
    }
    if (any) schedulePump();
  };
  onCredit = () => {
    if (running && spec.mode === 'saturate' && spec.qos === 0) schedulePump();
  };
  const schedulePump = (): void => {
    if (pumping) return;
    pumping = true;
    setImmediate(pump);
  };

  for (const s of live) {
    s.onAcks = (n) => {
      acked += n;
      if (running && spec.mode === 'saturate' && spec.qos === 1) send(s, n, sentAtText(wallClockMs()));
    };
  }

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let ticker: NodeJS.Timeout | undefined;
  if (spec.mode === 'saturate') {
    if (spec.qos === 0) schedulePump();
    else for (const s of live) send(s, spec.window ?? 10, sentAtText(wallClockMs()));
  } else {
    // A fixed total rate: every 5 ms, send what is due, one device after another.
    let cursor = 0;
    ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * spec.rate!) - sent;
      const at = sentAtText(wallClockMs());
      for (let k = 0; k < due; k++) send(live[cursor++ % live.length]!, 1, at);
    }, 5);
  }
  await new Promise((r) => setTimeout(r, spec.durationMs));
  running = false;
  if (ticker) clearInterval(ticker);
  const elapsedMs = performance.now() - t0;
  const cpu = cpuFraction(cpu0, elapsedMs);
  // Let the tail of the phase reach the broker (and its PUBACKs come back) before answering.
  const settleBy = Date.now() + 15_000;
  while (Date.now() < settleBy && (spec.qos === 1 ? acked < sent && live.some((s) => !s.closed) : live.some((s) => !s.closed && s.socket.writableLength > 0))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const s of live) s.onAcks = undefined;
  return { sent, acked, elapsedMs, cpu, closedDuringPhase, devices: live.length };
}

serveWorker({
  connect,
  phase,
  credit: async (m) => {
    credited = Number(m.delivered);
    onCredit?.();
    return {};
  },
  open: async () => ({ open: sessions.filter((s) => !s.closed).length }),
  close: async () => {
    for (const s of sessions) {
      s.closed = true;
      s.socket.destroy();
    }
    sessions.length = 0;
    return {};
  },
});
