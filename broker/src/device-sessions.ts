import type { Aedes, Client } from 'aedes';

/**
 * What a device's persistent sessions may hold. A persistent session (clean session off) keeps its
 * subscription after the device leaves, and the broker queues every QoS 1 command for it until the
 * device comes back; nothing in aedes 1.2 or aedes-persistence bounds either (aedes-persistence-redis
 * only has a time to live, for every queued packet including the ingest's). One device opened 3,000
 * sessions with different client ids, each queueing every command. So, per device (services are exempt):
 *
 * - at most `maxPersistentPerDevice` persistent sessions; when another subscribes, the device's
 *   oldest are ended (closed if connected here, then their subscriptions and queues deleted);
 * - at most `maxQueuedPerSession` commands queued for one session: before one more is queued, the
 *   oldest are dropped (the newest command is the one an operator means), and a connected session
 *   that has left that many unacknowledged is closed (it is not acking).
 *
 * The work happens when a device subscribes and when the ingest publishes a command, never on the
 * telemetry path. Sessions are tracked per broker node (a cluster node does not see sessions that
 * were opened on another).
 */
export interface SessionLimitOptions {
  /** Persistent sessions with a subscription one device may hold; the oldest beyond it are ended. Default 1. */
  maxPersistentPerDevice?: number;
  /** Commands queued for one device session; the oldest are dropped beyond it. 0 = unbounded. Default 100. */
  maxQueuedPerSession?: number;
}

export const SESSION_LIMIT_DEFAULTS: Readonly<Required<SessionLimitOptions>> = Object.freeze({ maxPersistentPerDevice: 1, maxQueuedPerSession: 100 });

/** The parts of an aedes persistence (memory or Redis) used here: the calls aedes itself makes to empty a clean client's queue. */
interface QueuedPacket {
  messageId?: number;
  [key: string]: unknown;
}
interface SessionStore {
  outgoingStream(client: { id: string }): AsyncIterable<QueuedPacket>;
  outgoingUpdate(client: { id: string }, packet: QueuedPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: QueuedPacket): Promise<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
}

export interface SessionEvents {
  /** A session was ended or trimmed: `event` names what, `detail` says why in an operator's words. */
  (event: 'mqtt_session_ended' | 'mqtt_queue_trimmed', fields: { clientId: string; deviceId: string; dropped?: number; detail: string }): void;
}

export class DeviceSessions {
  private readonly options: Required<SessionLimitOptions>;
  /** deviceId → its persistent sessions' client ids, least recently subscribed first. */
  private readonly byDevice = new Map<string, string[]>();
  /** clientId → commands queued since its queue was last measured (an upper bound of what was added). */
  private readonly sinceMeasured = new Map<string, number>();
  /** clientId → the queue work in progress for it, so two commands never trim one queue at once. */
  private readonly busy = new Map<string, Promise<void>>();
  private counts = { sessionsEnded: 0, commandsDropped: 0 };

  constructor(
    private readonly aedes: Aedes,
    options: SessionLimitOptions,
    private readonly report: SessionEvents,
  ) {
    this.options = { ...SESSION_LIMIT_DEFAULTS, ...options };
  }

  private get store(): SessionStore {
    return (this.aedes as unknown as { persistence: SessionStore }).persistence;
  }

  private liveClient(clientId: string): Client | undefined {
    return (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
  }

  /** A device's persistent session subscribed (or was restored): it is now the device's newest. */
  subscribed(deviceId: string, clientId: string): Promise<void> {
    const ids = (this.byDevice.get(deviceId) ?? []).filter((id) => id !== clientId);
    ids.push(clientId);
    const excess = ids.splice(0, Math.max(0, ids.length - this.options.maxPersistentPerDevice));
    this.byDevice.set(deviceId, ids);
    return Promise.all(
      excess.map((old) =>
        this.serialized(old, () => this.end(old, deviceId, `device ${deviceId} opened persistent session "${clientId}"; at most ${this.options.maxPersistentPerDevice} per device`)),
      ),
    ).then(() => undefined);
  }

  /** Before a command to `deviceId` is queued: makes room in each of its sessions' queues. */
  beforeCommand(deviceId: string): Promise<void> {
    const max = this.options.maxQueuedPerSession;
    const ids = this.byDevice.get(deviceId);
    if (max <= 0 || !ids) return Promise.resolve();
    return Promise.all(
      ids.map((clientId) => {
        const added = (this.sinceMeasured.get(clientId) ?? 0) + 1;
        this.sinceMeasured.set(clientId, added);
        // Measuring costs a walk of the queue: only once it could be full.
        return added < max ? undefined : this.serialized(clientId, () => this.makeRoom(clientId, deviceId));
      }),
    ).then(() => undefined);
  }

  stats(): { persistentSessions: number; sessionsEnded: number; commandsDropped: number } {
    let n = 0;
    for (const ids of this.byDevice.values()) n += ids.length;
    return { persistentSessions: n, ...this.counts };
  }

  private async makeRoom(clientId: string, deviceId: string): Promise<void> {
    const max = this.options.maxQueuedPerSession;
    let queued = await this.queued(clientId);
    if (queued.length >= max) {
      const live = this.liveClient(clientId);
      if (live) {
        await new Promise<void>((resolve) => live.close(() => resolve()));
        this.report('mqtt_session_ended', { clientId, deviceId, detail: `${queued.length} commands not acknowledged (limit ${max}): connection closed` });
        queued = await this.queued(clientId);
      }
      const dropped = await this.drop(clientId, queued, queued.length - max + 1);
      this.counts.commandsDropped += dropped;
      this.report('mqtt_queue_trimmed', { clientId, deviceId, dropped, detail: `${queued.length} commands queued for an absent session (limit ${max}): the oldest ${dropped} dropped` });
      queued = queued.slice(dropped);
    }
    // The command about to be queued is the one more the next count starts from.
    this.sinceMeasured.set(clientId, queued.length);
  }

  private async end(clientId: string, deviceId: string, detail: string): Promise<void> {
    const live = this.liveClient(clientId);
    if (live) await new Promise<void>((resolve) => live.close(() => resolve()));
    await this.store.cleanSubscriptions({ id: clientId });
    const queued = await this.queued(clientId);
    const dropped = await this.drop(clientId, queued, queued.length);
    this.sinceMeasured.delete(clientId);
    this.counts.sessionsEnded++;
    this.counts.commandsDropped += dropped;
    this.report('mqtt_session_ended', { clientId, deviceId, dropped, detail });
  }

  private async queued(clientId: string): Promise<QueuedPacket[]> {
    const packets: QueuedPacket[] = [];
    for await (const p of this.store.outgoingStream({ id: clientId })) packets.push(p);
    return packets;
  }

  /**
   * Deletes the first `n` of `queued` from the store, the way aedes empties a clean client's queue:
   * a packet never sent has no message id yet, so it is given a free one (outgoingUpdate) and then
   * cleared by it (outgoingClearMessageId). Works for the memory and the Redis persistence alike.
   */
  private async drop(clientId: string, queued: QueuedPacket[], n: number): Promise<number> {
    const client = { id: clientId };
    const used = new Set(queued.map((p) => p.messageId).filter((id): id is number => typeof id === 'number' && id > 0));
    let next = 0;
    let dropped = 0;
    for (const packet of queued.slice(0, Math.max(0, n))) {
      let messageId = packet.messageId;
      if (!messageId) {
        do next++;
        while (used.has(next));
        messageId = next;
        await this.store.outgoingUpdate(client, { ...packet, messageId });
      }
      await this.store.outgoingClearMessageId(client, { ...packet, messageId });
      dropped++;
    }
    return dropped;
  }

  private serialized(clientId: string, work: () => Promise<void>): Promise<void> {
    const run = (this.busy.get(clientId) ?? Promise.resolve()).then(work, work);
    const settled = run.catch(() => undefined);
    this.busy.set(clientId, settled);
    void settled.then(() => {
      if (this.busy.get(clientId) === settled) this.busy.delete(clientId);
    });
    return run;
  }
}
