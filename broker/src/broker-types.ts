import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { BrokerCluster } from './cluster.js';
import type { DenialReason, RevocationReason } from './denials.js';
import type { ConnectionLogOptions } from './connection-log.js';
import type { SessionLimitOptions } from './device-sessions.js';
import type { TlsListenOptions } from './listeners.js';
import type { SecretCheckOptions, SecretCheckStats } from './secret-check.js';
import type { AuthThrottleOptions, PublishLimitOptions } from './throttle.js';
import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';

/** The broker's public types: options (each with its default and unit), listen options, stats. */
export interface BrokerOptions {
  /** Where devices and service accounts are looked up; the broker only reads it and listens to onChange. */
  registry: DeviceRegistry;
  /** Structured log: connections at info, every denial at warn (`event: 'mqtt_denied'`). */
  logger: Logger;
  /** Largest PUBLISH payload in bytes; default MAX_PAYLOAD_BYTES (65536, contract v1). Larger ones are refused. */
  maxPayloadBytes?: number;
  /**
   * Largest MQTT packet body ("remaining length") accepted on the socket, in bytes; default
   * maxPayloadBytes + 4096 (room for topic and headers). A bigger packet cuts the connection
   * before it is buffered. Must be ≥ maxPayloadBytes.
   */
  maxPacketBytes?: number;
  /** Require client id = username or `${username}:…` (see acl.clientIdAllowed); default true. */
  bindClientIdToUsername?: boolean;
  /** Milliseconds a new connection has to send CONNECT before it is dropped; default 10000. */
  connectTimeoutMs?: number;
  /** Longest client id accepted, in characters; a longer one gets CONNACK 2 (identifier rejected) before anything else. Default 128. */
  maxClientIdLength?: number;
  /** aedes broker id; default random (in a cluster, the cluster's brokerId). */
  id?: string;
  /**
   * Share subscriptions, sessions, retained messages and wills with other nodes (openRedisCluster in
   * cluster.ts); default none: everything in memory. The caller closes it after close().
   */
  cluster?: BrokerCluster;
  /** Failed-login lockouts per (identity, source address) and per source address (throttle.ts defaults); false = off. */
  authThrottle?: AuthThrottleOptions | false;
  /** Password verification: scrypt concurrency, its queue, the fast path for recently verified secrets (secret-check.ts). */
  passwordCheck?: SecretCheckOptions;
  /** Budget of connection log lines per source address and overall (connection-log.ts); false = every line is written. */
  connectionLog?: ConnectionLogOptions | false;
  /** Persistent sessions per device and commands queued per session (device-sessions.ts). */
  sessionLimits?: SessionLimitOptions;
  /** Per-device publish rate and byte-rate limits (throttle.ts defaults); false = off. Services are exempt. */
  publishLimits?: PublishLimitOptions | false;
  /**
   * Open sockets (all listeners, before and after login); default 10000. At the cap a new socket takes
   * the place of the oldest one still waiting to log in (socket-budget.ts), else it is closed at once.
   */
  maxConnections?: number;
  /** Sockets from one source address not logged in yet (handshake, CONNECT, secret check); more are closed at once. Default 64. */
  maxUnauthenticatedPerAddress?: number;
  /** Clock for the throttles, epoch ms; default Date.now. */
  clock?: () => number;
  /**
   * Called for every authorised PUBLISH and will, before aedes acknowledges it (aedes 1.x writes the
   * QoS 1 PUBACK before it hands the message to subscribers, so this is the last point before the ack).
   * The PUBACK waits until the promise resolves: the embedded ingest makes the message durable in its
   * journal here. A rejection closes the connection without a PUBACK, so the device sends it again.
   * `qos` is the PUBLISH's: at QoS 0 there is no PUBACK to hold, only the order of the client's messages.
   */
  beforePuback?: (topic: string, payload: Buffer, qos: 0 | 1 | 2) => Promise<void>;
}

export interface ListenOptions {
  /** TCP port; default 1883; 0 picks a free port (the real one is returned). */
  port?: number;
  /** Address to bind; default 127.0.0.1 (plain MQTT is not exposed by default; use tls for a network). */
  host?: string;
  /** Serve MQTT over TLS (mqtts) on this listener, optionally with client-certificate login. */
  tls?: TlsListenOptions;
}

export interface BrokerStats {
  /** Authenticated MQTT sessions now connected. */
  connections: number;
  /** Denials since start, by reason. */
  denials: Record<DenialReason, number>;
  /** Sessions closed because the registry changed, by reason. */
  revocations: Record<RevocationReason, number>;
  /** Open sockets on all listeners, logged in or not. */
  sockets: number;
  /** Of those, not logged in yet. */
  socketsWaitingForLogin: number;
  /** Sockets waiting to log in that were closed to make room for a new one at the cap, since start. */
  socketsReplaced: number;
  /** (identity, address) pairs and addresses now locked out after failed logins. */
  throttle: { lockedPairs: number; lockedAddresses: number };
  /** Password checks: fast path, scrypt, refused busy, in flight, waiting, remembered secrets. */
  logins: SecretCheckStats;
  /** Device persistent sessions tracked on this node; sessions ended and commands dropped by the limits. */
  sessions: { persistentSessions: number; sessionsEnded: number; commandsDropped: number };
  /** Connection log lines dropped over budget since start. */
  logLinesDropped: number;
}

export interface TsunagaruBroker {
  readonly aedes: Aedes;
  listen(options?: ListenOptions): Promise<{ port: number; host: string }>;
  /** Stops listening, disconnects every client, stops following the registry. Idempotent. */
  close(): Promise<void>;
  stats(): BrokerStats;
}
