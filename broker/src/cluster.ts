/**
 * Several broker processes as one MQTT broker, sharing state through Redis: mqemitter-redis carries
 * every routed message between the nodes (Redis pub/sub) and aedes-persistence-redis keeps what
 * outlives a connection (subscriptions of persistent sessions, their QoS 1 offline queues, retained
 * messages, wills). A device may connect to any node. Built here and handed to createBroker, so the
 * broker never reaches for a global connection.
 */
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';
import { redactUrl } from './redact-url.js';
import { BrokerError } from './errors.js';

/** What aedes needs from a persistence for the will sweep; the rest is passed through untouched. */
interface WillPersistence {
  addSubscriptions(client: { id: string }, subs: object[]): Promise<unknown>;
  streamWill(brokers: Record<string, number>): AsyncIterable<RecoveredWill>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  destroy(): Promise<void>;
}

/** A will stored by some node, as aedes' periodic sweep reads it back to publish it for a dead node. */
export interface RecoveredWill {
  clientId: string;
  brokerId: string;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

// aedes-persistence-redis ships no type declarations; this is the one call we make.
const aedesPersistenceRedis = createRequire(import.meta.url)('aedes-persistence-redis') as (options: { conn: Redis; maxSessionDelivery?: number }) => WillPersistence;

/**
 * Which node a client id last started a session on (key per client id). Only read about a will
 * stored before that session started, within minutes (a sweep, a takeover), so it expires and
 * devices that invent client ids (`pole-01:<anything>`) cannot grow Redis without bound.
 */
const SESSION_NODE_PREFIX = 'tsunagaru:session-node:';
const SESSION_NODE_TTL_MS = 3_600_000;
/** Per node: QoS 1/2 messages acknowledged to their device but perhaps not yet routed (see holdInflight), and those it is republishing for a dead node. */
const INFLIGHT_PREFIX = 'tsunagaru:inflight:';
/** Per node, refreshed every heartbeat, expires after 3: the node is alive. */
const ALIVE_PREFIX = 'tsunagaru:alive:';
/** Nodes that may have left an in-flight list behind. */
const NODES_KEY = 'tsunagaru:nodes';

/** A message as kept in an in-flight list; `n` makes each entry unique, so LREM removes exactly it. */
interface InflightEntry {
  t: string;
  p: string;
  q: 0 | 1 | 2;
  r: boolean;
  n: string;
}

/** What is replayed for a dead node: a publish with no client (it was authorised when it arrived). */
export interface ReplayedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface RedisClusterOptions {
  /** redis://[:password@]host[:port][/db] or rediss:// (BROKER_REDIS_URL). */
  redisUrl: string;
  /** This node's aedes id (BROKER_ID); must be unique among the nodes. */
  brokerId: string;
  /** aedes heartbeat in ms: a node silent for 3 of them is dead; the others publish its wills. */
  heartbeatIntervalMs: number;
  logger: Logger;
  /** How long to wait for Redis at start before giving up, ms; default 5000. */
  connectTimeoutMs?: number;
  /** Queued messages handed to a persistent session at its reconnect (the rest wait for the next); default 100000. */
  maxSessionDelivery?: number;
}

/** What createBroker takes: aedes' `mq` and `persistence`, and the hooks the broker calls. */
export interface BrokerCluster {
  readonly brokerId: string;
  readonly heartbeatIntervalMs: number;
  readonly mq: unknown;
  readonly persistence: unknown;
  /** The broker calls this when a client id starts a session here, so a dead node's stale will for it is dropped. */
  sessionStarted(clientId: string): void;
  /** The node the client id last started a session on, or null (unknown, or Redis unreachable). */
  sessionNode(clientId: string): Promise<string | null>;
  /** All three Redis connections are up: routing and session state work. */
  healthy(): boolean;
  /** The broker's ACL for wills recovered from a dead node (their client is gone); false drops the will. */
  setWillCheck(check: (will: RecoveredWill) => boolean): void;
  /**
   * aedes writes a QoS 1 PUBACK before it routes the message through Redis, so a node killed in
   * between would lose a message its device believes delivered. The broker calls this just before
   * the PUBACK: the message goes into this node's in-flight list in Redis first.
   */
  holdInflight(packet: { topic: string; payload: Buffer | string; qos: 0 | 1 | 2; retain: boolean }): Promise<void>;
  /** After aedes has routed the message: out of the in-flight list. */
  releaseInflight(packet: object): void;
  /**
   * Starts this node's liveness key and the sweep that republishes, through `publish`, the in-flight
   * messages of nodes that died (and this node's own, left by a previous run under the same id).
   */
  start(publish: (message: ReplayedMessage) => Promise<void>): void;
  /** After the broker has closed: ends the persistence and the Redis connections. */
  close(): Promise<void>;
  /** Drops the Redis connections at once (a shutdown that must not wait for an absent Redis). */
  disconnect(): void;
}

/** ioredis options from the URL; mqemitter-redis would ignore every other option beside a connection string. */
export function redisOptionsFromUrl(text: string): RedisOptions {
  const url = new URL(text);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function waitReady(conn: Redis, timeoutMs: number): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => (lastError = err);
    const done = (err?: Error) => {
      clearTimeout(timer);
      conn.off('ready', onReady);
      conn.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const timer = setTimeout(() => done(lastError ?? new BrokerError('BROKER_ERR_REDIS', `no answer in ${timeoutMs} ms`)), timeoutMs);
    conn.on('ready', onReady);
    conn.on('error', onError);
  });
}

/**
 * Connects to Redis and builds aedes' emitter and persistence over it (three connections: publish,
 * subscribe, persistence). Fails with BROKER_ERR_REDIS when Redis does not answer within
 * connectTimeoutMs. Once running, a lost Redis is logged and ioredis reconnects; nothing throws.
 */
export async function openRedisCluster(options: RedisClusterOptions): Promise<BrokerCluster> {
  const { logger, brokerId } = options;
  const where = redactUrl(options.redisUrl);
  const mq = MQEmitterRedis({ ...redisOptionsFromUrl(options.redisUrl), connectionName: `tsunagaru-broker-${brokerId}` }) as ReturnType<typeof MQEmitterRedis> & { pubConn: Redis; subConn: Redis; state: NodeJS.EventEmitter };
  const db = mq.pubConn.duplicate();
  const connections: Array<[string, Redis]> = [['publish', mq.pubConn], ['subscribe', mq.subConn], ['persistence', db]];

  // Without a listener mqemitter-redis' 'error' would throw and end the process; ioredis reconnects by itself.
  mq.state.on('error', () => undefined);
  let started = false;
  for (const [role, conn] of connections) {
    let down = false;
    conn.on('error', (err: Error) => {
      if (!started || down) return; // logged once per outage; at start waitReady reports it
      down = true;
      logger.error({ event: 'redis_connection_lost', role, redis: where, err: err.message }, `Redis ${role} connection lost; reconnecting (MQTT routing between nodes and session state wait for it)`);
    });
    conn.on('ready', () => {
      if (down) logger.warn({ event: 'redis_connection_restored', role, redis: where }, `Redis ${role} connection restored`);
      down = false;
    });
  }
  const disconnect = () => connections.forEach(([, conn]) => conn.disconnect());

  const timeoutMs = options.connectTimeoutMs ?? 5000;
  try {
    await Promise.all(connections.map(([, conn]) => waitReady(conn, timeoutMs)));
  } catch (err) {
    disconnect();
    throw new BrokerError(
      'BROKER_ERR_REDIS',
      `cannot reach Redis at ${where} (BROKER_REDIS_URL): ${(err as Error).message}. Start Redis there, or fix BROKER_REDIS_URL, or unset it to run a single in-memory node`,
      { cause: err },
    );
  }
  started = true;

  // The package's default (1000) hands a returning persistent session only its first 1000 queued
  // messages; the rest would wait in Redis for its next reconnect. The in-memory persistence has no cap.
  const persistence = aedesPersistenceRedis({ conn: db, maxSessionDelivery: options.maxSessionDelivery ?? 100_000 });
  let willCheck: (will: RecoveredWill) => boolean = () => true;

  // aedes 1.2 stores a persistent session's subscriptions once per topic of a SUBSCRIBE (each call
  // with all of them), concurrently, and the Redis persistence then waits for its own broadcast
  // keyed by client and first topic: all calls but one wait forever, so a SUBSCRIBE (or a session
  // restored at CONNECT) with two or more topics never completes. Calls for the same list share one
  // store, and one client's stores run one after another.
  const addSubscriptions = persistence.addSubscriptions.bind(persistence);
  const storing = new WeakMap<object[], Promise<unknown>>();
  const lastStore = new Map<string, Promise<unknown>>();
  persistence.addSubscriptions = (client, subs) => {
    const pending = storing.get(subs);
    if (pending) return pending;
    const previous = lastStore.get(client.id) ?? Promise.resolve();
    const store = previous.catch(() => undefined).then(() => addSubscriptions(client, subs));
    storing.set(subs, store);
    lastStore.set(client.id, store);
    void store.finally(() => {
      if (lastStore.get(client.id) === store) lastStore.delete(client.id);
    }).catch(() => undefined);
    return store;
  };

  // aedes publishes a dead node's wills from a periodic sweep. Two wrongs to keep out of it: a will
  // whose device has since started a session on another node (publishing it would declare a live
  // device dead after its birth), and a will our ACL refuses (aedes would fail the whole sweep on
  // it, every time, and never publish the wills behind it).
  const streamWill = persistence.streamWill.bind(persistence);
  persistence.streamWill = async function* usableWills(brokers) {
    for await (const will of streamWill(brokers)) {
      const node = await db.get(SESSION_NODE_PREFIX + will.clientId).catch(() => null);
      const reason = node !== null && node !== will.brokerId ? `client started a session on ${node} since` : !willCheck(will) ? 'refused by the ACL' : undefined;
      if (!reason) {
        // Every live node sweeps; the first to claim a will publishes it, so a death is announced once.
        // The claim expires, so a node dying between claim and publish leaves it to the next sweep.
        const claimed = await db.set(`tsunagaru:will-claim:${will.brokerId}:${will.clientId}`, brokerId, 'PX', options.heartbeatIntervalMs * 6, 'NX').catch(() => null);
        if (claimed === 'OK') yield will;
        continue;
      }
      logger.info({ event: 'mqtt_will_discarded', clientId: will.clientId, deadNode: will.brokerId, topic: will.topic, reason }, `will of ${will.clientId} discarded: ${reason}`);
      await persistence.delWill({ id: will.clientId, brokerId: will.brokerId });
    }
  };

  const inflightKey = INFLIGHT_PREFIX + brokerId;
  const heldEntries = new WeakMap<object, string>();
  let entryCounter = 0;
  const timers: NodeJS.Timeout[] = [];

  /**
   * Republishes a node's in-flight messages. Each is first moved into this node's own list (LMOVE is
   * atomic, so two survivors never take the same one) and leaves it once republished: if this node
   * dies midway, the rest are in its list for the next survivor.
   */
  const replayInflight = async (node: string, publish: (message: ReplayedMessage) => Promise<void>): Promise<void> => {
    const republish = async (text: string): Promise<void> => {
      const e = JSON.parse(text) as InflightEntry;
      await publish({ topic: e.t, payload: Buffer.from(e.p, 'base64'), qos: e.q, retain: e.r });
      await db.lrem(inflightKey, 1, text);
    };
    let count = 0;
    if (node === brokerId) {
      // Left by a previous run under this id; nothing of this run is in the list yet (no client before listen).
      for (const text of await db.lrange(inflightKey, 0, -1)) {
        await republish(text);
        count++;
      }
    } else {
      for (let text = await db.lmove(INFLIGHT_PREFIX + node, inflightKey, 'LEFT', 'RIGHT'); text !== null; text = await db.lmove(INFLIGHT_PREFIX + node, inflightKey, 'LEFT', 'RIGHT')) {
        await republish(text);
        count++;
      }
      await db.srem(NODES_KEY, node);
    }
    if (count > 0) logger.warn({ event: 'mqtt_inflight_replayed', deadNode: node, messages: count }, `republished ${count} message(s) node ${node} had acknowledged but perhaps not routed`);
  };
  const sweepDeadNodes = async (publish: (message: ReplayedMessage) => Promise<void>): Promise<void> => {
    if (!connections.every(([, conn]) => conn.status === 'ready')) return;
    for (const node of await db.smembers(NODES_KEY)) {
      if (node !== brokerId && (await db.exists(ALIVE_PREFIX + node)) === 0) await replayInflight(node, publish);
    }
  };

  logger.info({ event: 'broker_cluster_mode', mode: 'redis', brokerId, redis: where, heartbeatIntervalMs: options.heartbeatIntervalMs }, `cluster mode: node ${brokerId} shares state through Redis at ${where}`);
  return {
    brokerId,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    mq,
    persistence,
    sessionStarted(clientId) {
      db.set(SESSION_NODE_PREFIX + clientId, brokerId, 'PX', Math.max(SESSION_NODE_TTL_MS, options.heartbeatIntervalMs * 20)).catch((err: Error) => logger.warn({ event: 'redis_write_failed', clientId, err: err.message }, 'could not record the session node'));
    },
    sessionNode(clientId) {
      return db.get(SESSION_NODE_PREFIX + clientId).catch(() => null);
    },
    healthy() {
      return connections.every(([, conn]) => conn.status === 'ready');
    },
    async holdInflight(packet) {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const entry: InflightEntry = { t: packet.topic, p: payload.toString('base64'), q: packet.qos, r: packet.retain, n: `${brokerId}:${++entryCounter}` };
      const text = JSON.stringify(entry);
      await db.rpush(inflightKey, text);
      heldEntries.set(packet, text);
    },
    releaseInflight(packet) {
      const text = heldEntries.get(packet);
      if (text === undefined) return;
      heldEntries.delete(packet);
      db.lrem(inflightKey, 1, text).catch(() => undefined); // left behind, it is replayed once more: a duplicate, not a loss
    },
    start(publish) {
      const beat = () => db.set(ALIVE_PREFIX + brokerId, '1', 'PX', options.heartbeatIntervalMs * 3).catch(() => undefined);
      const sweep = () => sweepDeadNodes(publish).catch((err: Error) => logger.warn({ event: 'mqtt_inflight_sweep_failed', err: err.message }, 'in-flight sweep failed; next heartbeat retries'));
      void beat();
      void db.sadd(NODES_KEY, brokerId).catch(() => undefined);
      void replayInflight(brokerId, publish).catch((err: Error) => logger.warn({ event: 'mqtt_inflight_sweep_failed', err: err.message }, 'replaying this node\'s previous in-flight messages failed'));
      timers.push(setInterval(beat, options.heartbeatIntervalMs), setInterval(sweep, options.heartbeatIntervalMs * 2));
    },
    setWillCheck(check) {
      willCheck = check;
    },
    async close() {
      timers.forEach(clearInterval);
      // aedes.close() has already quit the emitter's two connections; the persistence holds the third.
      await persistence.destroy().catch((err: Error) => logger.warn({ err: err.message }, 'closing the Redis persistence failed'));
      disconnect();
    },
    disconnect,
  };
}
