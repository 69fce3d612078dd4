/** Shared helpers for the live broker tests: real sockets, real MQTT.js clients (MQTT 3.1.1). */
import { connect as netConnect } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { pino, type Logger } from 'pino';

export type LogLine = Record<string, unknown> & { event?: string; reason?: string; msg?: string };

/** A pino logger whose JSON lines land in an array, so tests can assert on structured fields. */
export function captureLogger(level: pino.Level = 'debug'): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  return { logger: pino({ level }, destination), lines, raw };
}

export interface ConnectAttempt {
  client: MqttClient;
  /** Set when the broker refused: MQTT.js puts the CONNACK return code in `code`. */
  error?: Error & { code?: number };
  /** CONNACK's session-present flag, on success. */
  sessionPresent?: boolean;
  /** Every message received from the first packet on (a resumed session's queue arrives right after CONNACK). */
  received: { topic: string; payload: Buffer; retain: boolean }[];
}

/** Clients opened by a test file; `endAll` in afterEach closes them. */
const opened = new Set<MqttClient>();

/**
 * Where a test client connects from: a loopback source address (127.0.0.2, 127.3.0.1…: every
 * 127.x.y.z is the machine itself on Linux), so one test can play a device and an attacker at
 * different addresses; with `tls`, over mqtts (certificate, key, CA as node:tls takes them).
 */
export interface Origin {
  from?: string;
  tls?: ConnectionOptions;
}

export function tryConnect(port: number, options: IClientOptions, origin: Origin = {}): Promise<ConnectAttempt> {
  const settings: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clean: true, ...options };
  const client =
    origin.from === undefined && origin.tls === undefined
      ? mqtt.connect(`mqtt://127.0.0.1:${port}`, settings)
      : new MqttClient(
          () =>
            origin.tls
              ? tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ...(origin.from ? { localAddress: origin.from } : {}), ...origin.tls })
              : netConnect({ port, host: '127.0.0.1', localAddress: origin.from }),
          settings,
        );
  opened.add(client);
  const received = collectMessages(client);
  return new Promise((resolve) => {
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent, received }));
    client.once('error', (error) => resolve({ client, error, received }));
    client.once('close', () => resolve({ client, error: new Error('connection closed before CONNACK'), received }));
  });
}

/** Connects or throws with the broker's reason, for tests where success is the premise. */
export async function connect(port: number, options: IClientOptions, origin: Origin = {}): Promise<MqttClient> {
  const { client, error } = await tryConnect(port, options, origin);
  if (error) throw new Error(`expected ${String(options.username)} to connect: ${error.message}`);
  return client;
}

export async function endAll(): Promise<void> {
  await Promise.all([...opened].map((c) => c.endAsync(true).catch(() => undefined)));
  opened.clear();
}

/** Resolves when the client's connection closes; rejects after `ms`. */
export function waitForClose(client: MqttClient, ms = 3000): Promise<void> {
  if (!client.connected && client.disconnected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client ${client.options.clientId} still connected after ${ms} ms`)), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Collects every message a client receives, to assert on what arrived and what never did. */
export function collectMessages(client: MqttClient): { topic: string; payload: Buffer; retain: boolean }[] {
  const received: { topic: string; payload: Buffer; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload, retain: packet.retain }));
  return received;
}

/** Subscribes and returns the granted QoS list; a refused filter comes back as 128 (0x80). */
export function subscribeGranted(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 1): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos }, (err, granted) => {
      // MQTT.js reports a refused filter as an error carrying the SUBACK packet.
      const refused = (err as (Error & { packet?: { granted?: number[] } }) | null | undefined)?.packet?.granted;
      if (refused) return resolve(refused);
      if (err) return reject(err);
      resolve((granted ?? []).map((g) => g.qos));
    });
  });
}

export function denials(lines: LogLine[], reason?: string): LogLine[] {
  return lines.filter((l) => l.event === 'mqtt_denied' && (reason === undefined || l.reason === reason));
}
