import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_BYTES } from '@tsunagaru/firmware-contracts';
import { canPublish, canSubscribe, clientIdAllowed, principalName, type Principal } from './acl.js';
import { authenticateCredentials, CONNACK, sessionStillValid } from './auth.js';
import { DenialLog, type DenialContext, type DenialReason, type RevocationReason } from './denials.js';
import { BrokerError } from './errors.js';
import { PacketSizeGuard } from './packet-size-guard.js';
import type { DeviceRegistry } from './registry/types.js';

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
  /** aedes broker id; default random. */
  id?: string;
}

export interface ListenOptions {
  /** TCP port; default 1883; 0 picks a free port (the real one is returned). */
  port?: number;
  /** Address to bind; default 127.0.0.1 (see README: no TLS here, so not exposed by default). */
  host?: string;
}

export interface BrokerStats {
  /** Authenticated MQTT sessions now connected. */
  connections: number;
  /** Denials since start, by reason. */
  denials: Record<DenialReason, number>;
  /** Sessions closed because the registry changed, by reason. */
  revocations: Record<RevocationReason, number>;
}

export interface TsunagaruBroker {
  readonly aedes: Aedes;
  listen(options?: ListenOptions): Promise<{ port: number; host: string }>;
  /** Stops listening, disconnects every client, stops following the registry. Idempotent. */
  close(): Promise<void>;
  stats(): BrokerStats;
}

const PACKET_HEADROOM_BYTES = 4096;

interface ConnectInfo {
  clientId: string;
  will: ConnectPacket['will'];
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new BrokerError('BROKER_ERR_CONFIG', `${name} must be a positive integer, got ${value}`);
  return value;
}

function payloadLength(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: returnCode as AuthenticateError['returnCode'] });
}

/**
 * Builds the MQTT broker: aedes with Tsunagaru's authentication (registry), ACL (contract v1 topic
 * rights), payload limits and denial logging. Does not listen until `listen()` is called.
 */
export async function createBroker(options: BrokerOptions): Promise<TsunagaruBroker> {
  const { registry, logger } = options;
  const maxPayloadBytes = positiveInt('maxPayloadBytes', options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES);
  const maxPacketBytes = positiveInt('maxPacketBytes', options.maxPacketBytes ?? maxPayloadBytes + PACKET_HEADROOM_BYTES);
  if (maxPacketBytes < maxPayloadBytes) {
    throw new BrokerError('BROKER_ERR_CONFIG', `maxPacketBytes (${maxPacketBytes}) must be ≥ maxPayloadBytes (${maxPayloadBytes})`);
  }
  const bindClientId = options.bindClientIdToUsername ?? true;
  const denials = new DenialLog(logger);
  const principals = new WeakMap<Client, Principal>();
  const connectInfo = new WeakMap<Client, ConnectInfo>();
  const live = new Set<Client>();

  const remoteAddressOf = (client: Client | null): string | undefined =>
    (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
  const contextOf = (client: Client | null, extra: DenialContext = {}): DenialContext => {
    const principal = client ? principals.get(client) : undefined;
    return {
      clientId: client?.id ?? undefined,
      username: principal ? principalName(principal) : undefined,
      remoteAddress: remoteAddressOf(client),
      ...extra,
    };
  };

  // [MQTT-3.1.3] The will arrives in CONNECT; keep it (and the raw client id) for authenticate.
  const preConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void => {
    connectInfo.set(client, { clientId: packet.clientId, will: packet.will });
    callback(null, true);
  };

  const authenticate = (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    const refuse = (reason: DenialReason, returnCode: number, extra: DenialContext = {}): void => {
      denials.deny(reason, { ...contextOf(client), username, ...extra });
      done(authError(returnCode, reason), false);
    };
    authenticateCredentials(registry, username, password).then(
      (outcome) => {
        if (!outcome.ok) return refuse(outcome.reason, outcome.returnCode, { detail: outcome.detail });
        const { principal } = outcome;
        const info = connectInfo.get(client);
        if (bindClientId && !clientIdAllowed(principal, info?.clientId ?? client.id)) {
          return refuse('client_id_rejected', 2, { detail: `client id must be "${principalName(principal)}" or start with "${principalName(principal)}:"` });
        }
        // The will is published by the broker on the device's behalf, so it must obey the same
        // publish rights; refusing it here tells the device at once (code 5) instead of silently
        // dropping its death message later. aedes also runs authorizePublish on the will at close.
        const will = info?.will;
        if (will) {
          const size = payloadLength(will.payload);
          const decision = canPublish(principal, will.topic, will.retain ?? false);
          if (size > maxPayloadBytes) return refuse('will_denied', CONNACK.NOT_AUTHORIZED, { topic: will.topic, detail: `will payload ${size} bytes > ${maxPayloadBytes}` });
          if (!decision.ok) return refuse('will_denied', CONNACK.NOT_AUTHORIZED, { topic: will.topic, detail: decision.detail });
        }
        principals.set(client, principal);
        done(null, true);
      },
      (err: unknown) => {
        logger.error({ err, clientId: client.id }, 'mqtt authenticate failed');
        refuse('registry_error', CONNACK.SERVER_UNAVAILABLE);
      },
    );
  };

  const authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    const principal = client ? principals.get(client) : undefined;
    const deny = (reason: DenialReason, detail: string): void => {
      denials.deny(reason, contextOf(client, { topic: packet.topic, detail }));
      // On MQTT 3.1.1 there is no negative PUBACK: aedes answers an error by closing the connection.
      callback(new Error(`${reason}: ${detail}`));
    };
    if (!principal) return deny('publish_denied', 'no authenticated session');
    const size = payloadLength(packet.payload);
    if (size > maxPayloadBytes) return deny('payload_too_large', `${size} bytes > ${maxPayloadBytes}`);
    const decision = canPublish(principal, packet.topic, packet.retain ?? false);
    if (!decision.ok) return deny(decision.reason, decision.detail);
    callback(null);
  };

  const authorizeSubscribe = (
    client: Client,
    subscription: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ): void => {
    const principal = principals.get(client);
    const decision = principal ? canSubscribe(principal, subscription.topic) : { ok: false as const, detail: 'no authenticated session' };
    if (!decision.ok) {
      denials.deny('subscribe_denied', contextOf(client, { topic: subscription.topic, detail: decision.detail }));
      return callback(null, null); // a null subscription becomes return code 0x80 in SUBACK [MQTT-3.9.3]
    }
    callback(null, subscription);
  };

  const aedes = await Aedes.createBroker({
    ...(options.id ? { id: options.id } : {}),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Only MQTT 3.1 checks this; allow `${deviceId}:${suffix}` (64 + 1 + 64).
    maxClientsIdLength: 129,
    preConnect,
    authenticate,
    authorizePublish,
    authorizeSubscribe,
  });

  const revokeIfInvalid = (client: Client): void => {
    const principal = principals.get(client);
    if (!principal) return;
    const verdict = sessionStillValid(registry, principal);
    if (verdict.ok) return;
    denials.revoke(verdict.reason, contextOf(client));
    live.delete(client);
    client.close();
  };

  // A disabled device or a rotated secret must not keep an open session (the check at CONNECT is not enough).
  const stopFollowingRegistry = registry.onChange((deviceId) => {
    for (const client of [...live]) {
      const p = principals.get(client);
      if (p && (deviceId === null || (p.kind === 'device' && p.id === deviceId))) revokeIfInvalid(client);
    }
  });

  aedes.on('clientReady', (client) => {
    live.add(client);
    logger.info({ event: 'mqtt_connected', ...contextOf(client) }, 'mqtt client connected');
    revokeIfInvalid(client); // the registry may have changed while the secret was being verified
  });
  aedes.on('clientDisconnect', (client) => {
    live.delete(client);
    logger.info({ event: 'mqtt_disconnected', ...contextOf(client) }, 'mqtt client disconnected');
  });
  aedes.on('clientError', (client, err) => logger.debug({ event: 'mqtt_client_error', ...contextOf(client), err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) => logger.debug({ event: 'mqtt_connection_error', remoteAddress: remoteAddressOf(client), err: err.message }, 'mqtt connection error'));
  // Without a listener an 'error' event (e.g. from persistence) would crash the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'aedes error'));

  const servers = new Set<Server>();
  const sockets = new Set<Socket>();
  let closed = false;

  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    const guarded: PacketSizeGuard = new PacketSizeGuard(socket, maxPacketBytes, (declared) => {
      const client = (guarded as unknown as { client?: Client }).client ?? null;
      denials.deny('packet_too_large', { ...contextOf(client), remoteAddress: socket.remoteAddress, detail: `packet declares ${declared} bytes > ${maxPacketBytes}` });
    });
    aedes.handle(guarded);
  };

  return {
    aedes,
    async listen({ port = 1883, host = '127.0.0.1' }: ListenOptions = {}) {
      if (closed) throw new BrokerError('BROKER_ERR_CLOSED', 'broker is closed');
      const server = createServer(onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new BrokerError('BROKER_ERR_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
        server.listen(port, host, () => resolve());
      });
      servers.add(server);
      const address = server.address() as AddressInfo;
      logger.info({ event: 'mqtt_listening', host: address.address, port: address.port, maxPayloadBytes }, 'mqtt broker listening');
      return { port: address.port, host: address.address };
    },
    async close() {
      if (closed) return;
      closed = true;
      stopFollowingRegistry();
      const serversClosed = [...servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all(serversClosed);
    },
    stats() {
      return { connections: live.size, denials: denials.denialCounts(), revocations: denials.revocationCounts() };
    },
  };
}
