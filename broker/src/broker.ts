import type { AddressInfo, Server, Socket } from 'node:net';
import { Aedes, type Client, type ConnectPacket, type PublishPacket, type Subscription } from 'aedes';
import { MAX_PAYLOAD_BYTES } from '@tsunagaru/firmware-contracts';
import { canPublish, canSubscribe, principalName, type Principal } from './acl.js';
import { principalOfService, sessionStillValid } from './auth.js';
import { ConnectionLog, type ConnectionLogLevel } from './connection-log.js';
import { DeviceSessions } from './device-sessions.js';
import { DenialLog, type DenialContext } from './denials.js';
import { BrokerError } from './errors.js';
import { createIntake } from './intake.js';
import { createMqttServer, peerCertificateOf } from './listeners.js';
import { createAuthenticate, type ConnectInfo } from './connect-checks.js';
import { PacketSizeGuard } from './packet-size-guard.js';
import { checkPublish, type PublishCheckDeps } from './publish-checks.js';
import { SecretCheck } from './secret-check.js';
import { SocketBudget } from './socket-budget.js';
import { AuthThrottle, PublishRateLimiter } from './throttle.js';
import type { BrokerOptions, ListenOptions, TsunagaruBroker } from './broker-types.js';

export type { BrokerOptions, BrokerStats, ListenOptions, TsunagaruBroker } from './broker-types.js';


const PACKET_HEADROOM_BYTES = 4096;

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new BrokerError('BROKER_ERR_CONFIG', `${name} must be a positive integer, got ${value}`);
  return value;
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
  const clock = options.clock ?? Date.now;
  const maxConnections = positiveInt('maxConnections', options.maxConnections ?? 10_000);
  const maxClientIdLength = positiveInt('maxClientIdLength', options.maxClientIdLength ?? 128);
  const connectTimeoutMs = positiveInt('connectTimeoutMs', options.connectTimeoutMs ?? 10_000);
  const budget = new SocketBudget({ maxSockets: maxConnections, maxUnauthenticatedPerAddress: positiveInt('maxUnauthenticatedPerAddress', options.maxUnauthenticatedPerAddress ?? 64) });
  const throttle = options.authThrottle === false ? undefined : new AuthThrottle(options.authThrottle ?? {}, clock);
  const secrets = new SecretCheck(options.passwordCheck ?? {}, clock);
  const publishLimiter = options.publishLimits === false ? undefined : new PublishRateLimiter(options.publishLimits ?? {}, clock);
  const burstBytes = options.publishLimits ? options.publishLimits.burstBytes : undefined;
  if (burstBytes !== undefined && burstBytes > 0 && burstBytes < maxPayloadBytes) {
    throw new BrokerError('BROKER_ERR_CONFIG', `publishLimits.burstBytes (${burstBytes}) must be ≥ maxPayloadBytes (${maxPayloadBytes}), or a full-size message could never pass`);
  }
  const connectionLog = new ConnectionLog(logger, options.connectionLog ?? {}, clock);
  const denials = new DenialLog(connectionLog, logger, clock);
  const principals = new WeakMap<Client, Principal>();
  const connectInfo = new WeakMap<Client, ConnectInfo>();
  const live = new Set<Client>();

  const remoteAddressOf = (client: Client | null): string | undefined =>
    (client?.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
  const socketOf = (client: Client): Socket => (client.conn as unknown as PacketSizeGuard).socket;
  /** A line about one connection: charged to its source address's log budget (connection-log.ts). */
  const logConnection = (level: ConnectionLogLevel, client: Client | null, fields: Record<string, unknown>, msg: string): void =>
    connectionLog.write(level, remoteAddressOf(client), fields, msg);
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

  const cluster = options.cluster;
  const authenticate = createAuthenticate({
    registry,
    denials,
    throttle,
    secrets,
    cluster,
    bindClientId,
    maxClientIdLength,
    maxPayloadBytes,
    connectInfo,
    principals,
    contextOf,
    remoteAddressOf,
    peerCertificateOf: (client) => peerCertificateOf(socketOf(client)),
    onRegistryError: (err, client) => logConnection('error', client, { err: (err as Error)?.message ?? String(err), clientId: client.id }, 'mqtt authenticate failed'),
  });

  // The publish path runs per message (publish-checks.ts): its steps and this settle are defined once.
  const checks: PublishCheckDeps = {
    principals,
    cluster,
    maxPayloadBytes,
    publishLimiter,
    delegateOf: (deviceId) => delegateOf(deviceId),
    recoveredWillPrincipal: (packet) => recoveredWillPrincipal(packet),
    sessions: () => sessions,
    beforePuback: options.beforePuback,
    settle(c, refusal) {
      if (!refusal) return c.callback(null);
      if (refusal.quiet) logConnection(refusal.quiet.level, c.client, { event: refusal.quiet.event, ...contextOf(c.client), topic: c.packet.topic, reason: refusal.detail }, refusal.quiet.message);
      else denials.deny(refusal.reason, contextOf(c.client, { topic: c.packet.topic, detail: refusal.detail }));
      // On MQTT 3.1.1 there is no negative PUBACK: aedes answers an error by closing the connection [MQTT-3.3.5-2].
      c.callback(new BrokerError('BROKER_ERR_PUBLISH_REFUSED', `${refusal.reason}: ${refusal.detail}`));
    },
  };
  const authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => checkPublish(client, packet, callback, checks);

  /** The principal behind a will stored by another (dead) node, looked up by its client id. */
  const recoveredWillPrincipal = (packet: PublishPacket): Principal | undefined => {
    const will = packet as PublishPacket & { clientId?: unknown; brokerId?: unknown };
    if (!cluster || typeof will.clientId !== 'string' || typeof will.brokerId !== 'string' || will.brokerId === cluster.brokerId) return undefined;
    const name = will.clientId.split(':')[0]!;
    const service = registry.getService(name);
    if (service) return principalOfService(service);
    const device = registry.getDevice(name);
    return device && !device.disabled ? { kind: 'device', id: device.id, type: device.type, secretHash: device.secretHash } : undefined;
  };
  cluster?.setWillCheck((will) => {
    const principal = recoveredWillPrincipal(will as unknown as PublishPacket);
    return principal !== undefined && canPublish(principal, will.topic, will.retain).ok;
  });

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

  // Assigned once aedes exists; the hooks that use it run only after that.
  let sessions: DeviceSessions;
  const aedes = await Aedes.createBroker({
    ...(options.id ? { id: options.id } : {}),
    ...(cluster ? { id: cluster.brokerId, mq: cluster.mq, persistence: cluster.persistence, heartbeatInterval: cluster.heartbeatIntervalMs } : {}),
    connectTimeout: connectTimeoutMs,
    // aedes checks this only on MQTT 3.1; authenticate checks every version (login.ts).
    maxClientsIdLength: maxClientIdLength,
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

  /** Devices behind a head-end gateway (attribute `headEnd`), for the ACL. */
  const delegateOf = (deviceId: string) => {
    const d = registry.getDevice(deviceId);
    const headEnd = d?.attributes['headEnd'];
    return d ? { type: d.type, headEnd: typeof headEnd === 'string' ? headEnd : undefined, disabled: d.disabled } : undefined;
  };

  // A disabled device or a rotated secret must not keep an open session (the check at CONNECT is not enough).
  const stopFollowingRegistry = registry.onChange((deviceId) => {
    // A remembered secret binds the stored hash, so a rotated or revoked one could not match anyway;
    // forgetting it also frees the entry. (null = services changed or a reload: the binding suffices.)
    if (deviceId !== null) secrets.forget(deviceId);
    for (const client of [...live]) {
      const p = principals.get(client);
      if (p && (deviceId === null || (p.kind === 'device' && p.id === deviceId))) revokeIfInvalid(client);
    }
  });

  if (cluster) {
    aedes.on('publish', (packet, client) => {
      if (client) cluster.releaseInflight(packet);
    });
    cluster.start((message) => new Promise((resolve, reject) => aedes.publish({ cmd: 'publish', dup: false, ...message }, (err) => (err ? reject(err) : resolve()))));
  }

  sessions = new DeviceSessions(aedes, options.sessionLimits ?? {}, (event, fields) => {
    const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[fields.clientId] ?? null;
    // An ended session is routine (a device that changes client id at each boot); dropped commands are not.
    if (event === 'mqtt_session_ended') logConnection('info', client, { event, ...fields }, `persistent session ${fields.clientId} ended: ${fields.detail}`);
    else logConnection('warn', client, { event, ...fields }, `command queue of ${fields.clientId} trimmed: ${fields.detail}`);
  });
  // A device's persistent session with a subscription holds a queue: at most maxPersistentPerDevice of them.
  aedes.on('subscribe', (subscriptions, client) => {
    if (!client || client.clean || !subscriptions.some((s) => (s.qos as number) !== 128)) return;
    const principal = principals.get(client);
    if (principal?.kind !== 'device') return;
    sessions.subscribed(principal.id, client.id).catch((err: unknown) => logger.error({ err, clientId: client.id }, 'ending a device\'s older persistent session failed'));
  });

  aedes.on('clientReady', (client) => {
    live.add(client);
    budget.loggedIn(socketOf(client));
    logConnection('info', client, { event: 'mqtt_connected', ...contextOf(client) }, 'mqtt client connected');
    revokeIfInvalid(client); // the registry may have changed while the secret was being verified
  });
  aedes.on('clientDisconnect', (client) => {
    live.delete(client);
    logConnection('info', client, { event: 'mqtt_disconnected', ...contextOf(client) }, 'mqtt client disconnected');
  });
  aedes.on('clientError', (client, err) => logConnection('debug', client, { event: 'mqtt_client_error', ...contextOf(client), err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) => logConnection('debug', client, { event: 'mqtt_connection_error', remoteAddress: remoteAddressOf(client), err: err.message }, 'mqtt connection error'));
  // Without a listener an 'error' event (e.g. from persistence) would crash the process.
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => logger.error({ err }, 'aedes error'));

  const servers = new Set<Server>();
  let closed = false;

  const handOver = (socket: Socket): void => {
    const guarded: PacketSizeGuard = new PacketSizeGuard(socket, maxPacketBytes, (declared) => {
      const client = (guarded as unknown as { client?: Client }).client ?? null;
      denials.deny('packet_too_large', { ...contextOf(client), remoteAddress: socket.remoteAddress, detail: `packet declares ${declared} bytes > ${maxPacketBytes}` });
    });
    aedes.handle(guarded);
  };

  const { onRawConnection, onConnection } = createIntake({ budget, denials, connectionLog, maxConnections, connectTimeoutMs, handOver });

  return {
    aedes,
    async listen({ port = 1883, host = '127.0.0.1', tls }: ListenOptions = {}) {
      if (closed) throw new BrokerError('BROKER_ERR_CLOSED', 'broker is closed');
      if (tls && tls.clientCertificates && tls.clientCertificates !== 'off' && !tls.ca) {
        throw new BrokerError('BROKER_ERR_CONFIG', `tls.ca is required when clientCertificates is ${tls.clientCertificates}`);
      }
      const server = createMqttServer(onConnection, onRawConnection, tls, (err, socket) =>
        connectionLog.write('debug', socket.remoteAddress, { event: 'mqtt_tls_error', remoteAddress: socket.remoteAddress, err: err.message }, 'mqtt TLS handshake failed'),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new BrokerError('BROKER_ERR_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
        server.listen(port, host, () => resolve());
      });
      servers.add(server);
      const address = server.address() as AddressInfo;
      logger.info({ event: 'mqtt_listening', host: address.address, port: address.port, tls: tls ? (tls.clientCertificates ?? 'off') : false, maxPayloadBytes }, 'mqtt broker listening');
      return { port: address.port, host: address.address };
    },
    async close() {
      if (closed) return;
      closed = true;
      stopFollowingRegistry();
      const serversClosed = [...servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const socket of budget.sockets()) socket.destroy();
      await Promise.all(serversClosed);
      connectionLog.close();
    },
    stats() {
      const socketStats = budget.stats();
      return {
        connections: live.size,
        denials: denials.denialCounts(),
        revocations: denials.revocationCounts(),
        sockets: socketStats.sockets,
        socketsWaitingForLogin: socketStats.waitingForLogin,
        socketsReplaced: socketStats.evicted,
        throttle: throttle?.stats() ?? { lockedPairs: 0, lockedAddresses: 0 },
        logins: secrets.stats(),
        sessions: sessions.stats(),
        logLinesDropped: connectionLog.dropped(),
      };
    },
  };
}
