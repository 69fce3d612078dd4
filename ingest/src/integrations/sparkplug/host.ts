/**
 * Tsunagaru as a Sparkplug B 3.0 host application. It subscribes to `spBv1.0/{group}/#` and:
 * - NBIRTH: a birth (new boot) and a Telemetry snapshot at ledger seq 0; its aliases are kept;
 * - DBIRTH/NDATA/DDATA/DDEATH: a Telemetry snapshot at the next ledger seq (report by exception: a metric
 *   keeps its value until it changes; a DDEATH takes its device's readings out);
 * - NDEATH: the device offline, if its bdSeq is the current session's; the bdSeq of an earlier session
 *   makes a late death that is recorded but never marks a reborn node offline;
 * - a gap in `seq` open longer than the reorder timeout, data from a node whose birth this host never saw,
 *   or an alias it does not know: a rebirth request (NCMD `Node Control/Rebirth`);
 * and publishes its own STATE (retained; the offline one is its MQTT will), Sparkplug 3.0
 * "Sparkplug Host Application Session Establishment".
 */
import type { Command, DeviceRecord, DeviceRegistry } from '@tsunagaru/firmware-contracts';
import { parseSparkplugStateTopic, parseSparkplugTopic, type SparkplugTopic } from '@tsunagaru/broker';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MessageSink } from '../../intake/sink.js';
import { contractProblem, DeviceIndex, journalContract, SerialQueue, type ContractOut, type IntegrationOutput } from '../shared.js';
import type { IntegrationStateStore } from '../../storage/duckdb/integration-state-store.js';
import { bdSeqOf, EdgeNodeSession, NODE_HISTORY, type NodeRecord } from './edge-node.js';
import type { SparkplugMapping } from './mapping.js';
import { decodePayload, rebirthRequest, type Payload } from './payload.js';
import { commandMessage, PendingWrites } from './commands.js';
import { IngestError } from '../../errors.js';

export const SPARKPLUG_ATTRIBUTES = { group: 'sparkplugGroup', node: 'sparkplugNode', profile: 'sparkplugProfile' } as const;

export interface SparkplugHostDeps {
  registry: DeviceRegistry;
  mappings: ReadonlyMap<string, SparkplugMapping>;
  output: IntegrationOutput;
  state: IntegrationStateStore;
  hostId: string;
  reorderTimeoutMs: number;
  logger: Logger;
  clock: () => number;
  /** Least time between two rebirth requests to one edge node. Default 5 s. */
  rebirthIntervalMs?: number;
}

export interface SparkplugStats {
  received: number;
  byVerb: Record<string, number>;
  converted: number;
  deadLetters: number;
  ignored: number;
  rebirthRequests: number;
  staleDeaths: number;
  gaps: number;
  commandsSent: number;
  commandsConfirmed: number;
}

type Done = { durable: Promise<unknown> };
const DONE: Done = { durable: Promise.resolve() };
const nodeKey = (group: string, node: string) => `${group}/${node}`;

export class SparkplugHost implements MessageSink {
  private readonly queue = new SerialQueue();
  private records = new Map<string, NodeRecord>();
  private readonly sessions = new Map<string, EdgeNodeSession>();
  private readonly lastRebirth = new Map<string, number>();
  /** Per edge node: commands written and not yet confirmed by a report (commands.ts). */
  private readonly pending = new PendingWrites();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly index: DeviceIndex;
  private client: MqttClient | undefined;
  private stateTimestamp = 0;
  private closed = false;
  private readonly counts: SparkplugStats = { received: 0, byVerb: {}, converted: 0, deadLetters: 0, ignored: 0, rebirthRequests: 0, staleDeaths: 0, gaps: 0, commandsSent: 0, commandsConfirmed: 0 };

  private constructor(private readonly d: SparkplugHostDeps) {
    this.index = new DeviceIndex(d.registry, (dev) => {
      const g = dev.attributes[SPARKPLUG_ATTRIBUTES.group];
      const n = dev.attributes[SPARKPLUG_ATTRIBUTES.node];
      return typeof g === 'string' && typeof n === 'string' ? nodeKey(g, n) : undefined;
    });
  }

  static async open(d: SparkplugHostDeps): Promise<SparkplugHost> {
    const host = new SparkplugHost(d);
    host.records = await d.state.load<NodeRecord>('sparkplug');
    return host;
  }

  get stateTopic(): string {
    return `spBv1.0/STATE/${this.d.hostId}`;
  }

  /** The MQTT will of the host's connection: its death certificate (Sparkplug 3.0: JSON, QoS 1, retained). */
  will(timestamp: number) {
    this.stateTimestamp = timestamp;
    return { topic: this.stateTopic, payload: Buffer.from(JSON.stringify({ online: false, timestamp })), qos: 1 as const, retain: true };
  }

  /**
   * Follows the host's MQTT connection: on every (re)connect, subscribe to the Sparkplug namespace and
   * the own STATE topic first, then publish the birth with the will's timestamp; on every close, the next
   * CONNECT gets a will with a new timestamp.
   */
  attach(client: MqttClient, filters: readonly string[]): void {
    this.client = client;
    client.on('connect', () => {
      client.subscribe([...filters, this.stateTopic], { qos: 1 }, (err, granted) => {
        const refused = (granted ?? []).filter((g) => (g.qos & 0x80) !== 0).map((g) => g.topic);
        if (err || refused.length > 0) {
          this.d.logger.error({ event: 'sparkplug_subscribe_refused', topics: refused, err: err?.message }, 'the broker refused the Sparkplug subscriptions: check the ingest account ACL');
          return;
        }
        this.publishState(true);
      });
    });
    client.on('close', () => {
      if (this.closed) return;
      // MQTT.js sends options.will with the next CONNECT.
      client.options.will = this.will(this.d.clock());
    });
  }

  private publishState(online: boolean, timestamp = this.stateTimestamp): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    return client.publishAsync(this.stateTopic, JSON.stringify({ online, timestamp }), { qos: 1, retain: true }).then(
      () => this.d.logger.info({ event: 'sparkplug_state', hostId: this.d.hostId, online, timestamp }, `Sparkplug host ${this.d.hostId} ${online ? 'online' : 'offline'}`),
      (err: Error) => this.d.logger.warn({ event: 'sparkplug_state_failed', err: err.message }, 'could not publish the Sparkplug host STATE'),
    );
  }

  /** Intentional stop: STATE offline with the current time, then the caller disconnects (Sparkplug 3.0 "Session Termination"). */
  async goOffline(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.index.close();
    if (this.client?.connected) await Promise.race([this.publishState(false, this.d.clock()), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  stats(): SparkplugStats {
    return structuredClone(this.counts);
  }

  /** Edge nodes known this run, for the API and health. */
  nodes(): Array<{ groupId: string; edgeNodeId: string; deviceId: string | null; boot: number | null; bdSeq: number | null; online: boolean; devices: string[] }> {
    return [...this.records.keys()].sort().map((key) => {
      const [groupId, edgeNodeId] = key.split('/') as [string, string];
      const s = this.sessions.get(key);
      const last = this.records.get(key)!.sessions.at(-1);
      return { groupId, edgeNodeId, deviceId: this.deviceOf(groupId, edgeNodeId)?.id ?? null, boot: last?.boot ?? null, bdSeq: last?.bdSeq ?? null, online: s !== undefined, devices: s ? [...s.devicesOnline].sort() : [] };
    });
  }

  enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<Done> {
    return this.queue.run(() => this.handle(topic, payload, receivedAt));
  }

  private deviceOf(group: string, node: string): DeviceRecord | undefined {
    return this.index.get(nodeKey(group, node));
  }

  private async refuse(topic: string, payload: Buffer, reason: string, deviceId: string | null, receivedAt: number): Promise<Done> {
    this.counts.deadLetters++;
    this.d.logger.warn({ event: 'integration_dead_letter', integration: 'sparkplug', topic: topic.slice(0, 256), deviceId, reason: reason.slice(0, 512) }, 'Sparkplug message dead-lettered');
    await this.d.output.deadLetter({ topic, payload, reason: `sparkplug: ${reason}`, deviceId, receivedAt });
    return DONE;
  }

  private ignore(why: string): Done {
    this.counts.ignored++;
    this.d.logger.debug({ event: 'integration_ignored', integration: 'sparkplug', why }, 'Sparkplug message ignored');
    return DONE;
  }

  private async handle(topic: string, payload: Buffer, receivedAt: number): Promise<Done> {
    this.counts.received++;
    const hostId = parseSparkplugStateTopic(topic);
    if (hostId !== undefined) return this.onState(hostId, payload);
    const t = parseSparkplugTopic(topic);
    if (!t) return this.refuse(topic, payload, 'topic: not spBv1.0/{group}/{verb}/{edgeNode}[/{device}]', null, receivedAt);
    this.counts.byVerb[t.verb] = (this.counts.byVerb[t.verb] ?? 0) + 1;
    if (t.verb === 'NCMD' || t.verb === 'DCMD') return this.ignore(`${t.verb}: host-to-node traffic`);
    const device = this.deviceOf(t.groupId, t.edgeNodeId);
    if (!device) {
      return this.refuse(topic, payload, `edge node ${t.groupId}/${t.edgeNodeId} is not provisioned: provision a device with attributes ${SPARKPLUG_ATTRIBUTES.group}=${t.groupId}, ${SPARKPLUG_ATTRIBUTES.node}=${t.edgeNodeId}, ${SPARKPLUG_ATTRIBUTES.profile}=<mapping profile>`, null, receivedAt);
    }
    const profile = device.attributes[SPARKPLUG_ATTRIBUTES.profile];
    const mapping = typeof profile === 'string' ? this.d.mappings.get(profile) : undefined;
    if (!mapping) return this.refuse(topic, payload, `device ${device.id}: no Sparkplug mapping for profile ${JSON.stringify(profile ?? null)}: set attribute ${SPARKPLUG_ATTRIBUTES.profile} to a profile in SPARKPLUG_MAPPINGS_DIR (${[...this.d.mappings.keys()].join(', ') || 'none'})`, device.id, receivedAt);
    if (mapping.type !== device.type) return this.refuse(topic, payload, `device ${device.id} is provisioned as ${device.type}, but profile ${mapping.profile} maps to ${mapping.type}`, device.id, receivedAt);
    const decoded = decodePayload(payload);
    if (!decoded.ok) return this.refuse(topic, payload, `undecodable: ${decoded.reason}`, device.id, receivedAt);
    const ctx: Ctx = { topic, payload, receivedAt, t, device, mapping, p: decoded.payload };
    if (t.verb === 'NBIRTH') return this.nbirth(ctx);
    if (t.verb === 'NDEATH') return this.ndeath(ctx);
    return this.data(ctx);
  }

  private async onState(hostId: string, payload: Buffer): Promise<Done> {
    if (hostId !== this.d.hostId || this.closed) return this.ignore('another host application\'s STATE');
    let state: { online?: unknown; timestamp?: unknown };
    try {
      state = JSON.parse(payload.toString('utf8')) as typeof state;
    } catch {
      return this.ignore('own STATE not JSON');
    }
    // A stale will of this host delivered after it came back: say online again (Sparkplug 3.0, host STATE rules).
    if (state.online === false && this.client?.connected) void this.publishState(true);
    return DONE;
  }

  private async emit(ctx: Pick<Ctx, 'topic' | 'payload' | 'receivedAt' | 'device'>, m: ContractOut): Promise<Done> {
    const problem = contractProblem(m);
    if (problem) return this.refuse(ctx.topic, ctx.payload, problem, ctx.device.id, ctx.receivedAt);
    this.counts.converted++;
    return journalContract(this.d.output, m, ctx.receivedAt);
  }

  private telemetry(ctx: Ctx, session: EdgeNodeSession, ledgerSeq: number): ContractOut {
    const ts = ctx.p.timestamp ?? ctx.receivedAt;
    return { type: ctx.device.type, deviceId: ctx.device.id, channel: 'telemetry', payload: { v: 1, id: ctx.device.id, boot: session.boot, seq: ledgerSeq, ts, samples: [{ ts, ...session.snapshot() }] } };
  }

  private async nbirth(ctx: Ctx): Promise<Done> {
    const bdSeq = bdSeqOf(ctx.p);
    if (bdSeq === undefined) return this.refuse(ctx.topic, ctx.payload, 'NBIRTH without a bdSeq metric (Sparkplug 3.0 requires one)', ctx.device.id, ctx.receivedAt);
    if (ctx.p.seq === undefined || ctx.p.seq > 255) return this.refuse(ctx.topic, ctx.payload, `NBIRTH seq must be 0..255, got ${ctx.p.seq ?? 'none'}`, ctx.device.id, ctx.receivedAt);
    const key = nodeKey(ctx.t.groupId, ctx.t.edgeNodeId);
    const record = this.records.get(key) ?? { sessions: [] };
    const boot = (record.sessions.at(-1)?.boot ?? -1) + 1;
    const next: NodeRecord = { sessions: [...record.sessions, { boot, bdSeq, bornAt: ctx.receivedAt }].slice(-NODE_HISTORY) };
    // Saved before the birth is journalled: a boot is never handed out twice, across restarts too.
    await this.d.state.save('sparkplug', key, next, this.d.clock());
    this.records.set(key, next);
    const session = new EdgeNodeSession(boot, bdSeq, ctx.p.seq, ctx.mapping);
    this.sessions.set(key, session);
    const problems = session.birth('', ctx.p.metrics);
    this.report(ctx, problems);
    this.d.logger.info({ event: 'sparkplug_birth', deviceId: ctx.device.id, group: ctx.t.groupId, edgeNode: ctx.t.edgeNodeId, boot, bdSeq }, `Sparkplug edge node ${key} born: boot ${boot}`);
    const ts = ctx.p.timestamp ?? ctx.receivedAt;
    const birth = await this.emit(ctx, { type: ctx.device.type, deviceId: ctx.device.id, channel: 'state', payload: { v: 1, id: ctx.device.id, state: 'online', boot, ts, fw: ctx.mapping.fw ?? 'sparkplug', model: ctx.mapping.model, sampleSec: ctx.mapping.sampleSec } });
    const data = await this.emit(ctx, this.telemetry(ctx, session, 0));
    const acks = await this.confirmWrites(ctx, key, session, '', true);
    return { durable: Promise.all([birth.durable, data.durable, acks.durable]) };
  }

  private async ndeath(ctx: Ctx): Promise<Done> {
    const key = nodeKey(ctx.t.groupId, ctx.t.edgeNodeId);
    const bdSeq = bdSeqOf(ctx.p);
    const sessions = this.records.get(key)?.sessions ?? [];
    const current = sessions.at(-1);
    // The latest session with this bdSeq (a rebirth keeps the bdSeq of its MQTT session).
    const match = [...sessions].reverse().find((s) => s.bdSeq === bdSeq);
    if (bdSeq === undefined || !match) {
      this.counts.staleDeaths++;
      return this.ignore(`NDEATH bdSeq ${bdSeq ?? 'missing'} matches no known session of ${key}`);
    }
    // `match` is the latest session with this bdSeq, so the current one when the bdSeq is current.
    const stale = match !== current;
    if (stale) this.counts.staleDeaths++;
    else {
      this.sessions.delete(key);
      this.d.logger.info({ event: 'sparkplug_death', deviceId: ctx.device.id, edgeNode: key, bdSeq }, `Sparkplug edge node ${key} offline`);
    }
    // Sparkplug 3.0: an NDEATH's time is when the host received it (a will is written at CONNECT).
    const boot = stale ? match.boot : current!.boot;
    return this.emit(ctx, { type: ctx.device.type, deviceId: ctx.device.id, channel: 'state', payload: { v: 1, id: ctx.device.id, state: 'offline', boot, ts: ctx.receivedAt } });
  }

  private async data(ctx: Ctx): Promise<Done> {
    const key = nodeKey(ctx.t.groupId, ctx.t.edgeNodeId);
    const session = this.sessions.get(key);
    if (!session) {
      this.requestRebirth(ctx.t, 'data from an edge node whose birth this host has not seen');
      return this.refuse(ctx.topic, ctx.payload, `${ctx.t.verb} from ${key} before its NBIRTH reached this host: a rebirth was requested`, ctx.device.id, ctx.receivedAt);
    }
    if (ctx.p.seq === undefined || ctx.p.seq > 255) return this.refuse(ctx.topic, ctx.payload, `${ctx.t.verb} seq must be 0..255, got ${ctx.p.seq ?? 'none'}`, ctx.device.id, ctx.receivedAt);
    const { ledgerSeq, gap } = session.place(ctx.p.seq);
    if (gap) this.watchGap(ctx.t, session, gap);
    const dev = ctx.t.deviceId ?? '';
    if (ctx.t.verb === 'DBIRTH') this.report(ctx, session.birth(dev, ctx.p.metrics));
    else if (ctx.t.verb === 'DDEATH') session.deviceDeath(dev);
    else this.report(ctx, session.update(dev, ctx.p.metrics));
    const data = await this.emit(ctx, this.telemetry(ctx, session, ledgerSeq));
    if (ctx.t.verb === 'DDEATH') return data;
    const acks = await this.confirmWrites(ctx, key, session, dev, false);
    return { durable: Promise.all([data.durable, acks.durable]) };
  }

  /**
   * A report (NBIRTH, DBIRTH, NDATA, DDATA) that shows a pending write done is its command's ack: the
   * metric at the written value, or for `Node Control/*` the NBIRTH that follows. Resolves once the acks
   * are journalled, with their durability (not awaited here: the queue goes on while the fsync runs).
   */
  private async confirmWrites(ctx: Ctx, key: string, session: EdgeNodeSession, device: string, nbirth: boolean): Promise<Done> {
    const done = this.pending.confirmedBy(key, { device, nbirth, metrics: ctx.p.metrics, nameOf: (m) => session.nameOf(device, m) });
    if (done.length === 0) return DONE;
    const ts = ctx.p.timestamp ?? ctx.receivedAt;
    const durable: unknown[] = [];
    for (const { p, value } of done) {
      this.counts.commandsConfirmed++;
      const kind = p.nodeControl ? 'the edge node was born again' : `the edge node reported ${p.metric} = ${JSON.stringify(value)}`;
      this.d.logger.info({ event: 'sparkplug_command_confirmed', deviceId: ctx.device.id, cmdId: p.cmdId, metric: p.metric }, `Sparkplug command confirmed: ${kind}`);
      const ack = await this.emit(ctx, { type: ctx.device.type, deviceId: ctx.device.id, channel: 'cmd/ack', payload: { v: 1, cmdId: p.cmdId, ok: true, result: { metric: p.metric, ...(p.device ? { device: p.device } : {}), value: value as never, confirmedBy: ctx.t.verb }, ts } });
      durable.push(ack.durable);
    }
    return { durable: Promise.all(durable) };
  }

  /**
   * A contract command for a device that is a Sparkplug edge node: NCMD or DCMD writing the metric its
   * mapping names (commands.ts); undefined when the device is not one. A command the profile has no write
   * for, or whose argument does not fit the metric, is answered at once with a failed ack.
   */
  sendCommand(device: DeviceRecord, cmd: Command, now: number): Promise<void> | undefined {
    const group = device.attributes[SPARKPLUG_ATTRIBUTES.group];
    const node = device.attributes[SPARKPLUG_ATTRIBUTES.node];
    if (typeof group !== 'string' || typeof node !== 'string') return undefined;
    return this.queue.run(async () => {
      const key = nodeKey(group, node);
      const topic = `spBv1.0/${group}/NCMD/${node}`;
      const ctxFor = (): Pick<Ctx, 'topic' | 'payload' | 'receivedAt' | 'device'> => ({ topic, payload: Buffer.from(JSON.stringify(cmd)), receivedAt: now, device });
      const fail = async (error: string) => {
        this.d.logger.warn({ event: 'sparkplug_command_refused', deviceId: device.id, cmdId: cmd.cmdId, error }, 'command not sent to the Sparkplug edge node');
        const done = await this.emit(ctxFor(), { type: device.type, deviceId: device.id, channel: 'cmd/ack', payload: { v: 1, cmdId: cmd.cmdId, ok: false, error, ts: now } });
        await done.durable;
      };
      const profile = device.attributes[SPARKPLUG_ATTRIBUTES.profile];
      const mapping = typeof profile === 'string' ? this.d.mappings.get(profile) : undefined;
      const write = mapping?.commands?.[cmd.name as keyof NonNullable<SparkplugMapping['commands']>];
      if (!mapping || !write) return fail(`this edge node's profile${mapping ? ` "${mapping.profile}"` : ''} has no metric to write for "${cmd.name}" (commands in its mapping file)`);
      const msg = commandMessage(group, node, write, cmd, now);
      if (!msg.ok) return fail(msg.reason);
      if (!this.client?.connected) throw new IngestError('INGEST_ERR_INTEGRATION', 'the Sparkplug host is not connected to its broker; the command stays queued');
      // Sparkplug 3.0: NCMD/DCMD at QoS 0, not retained. Registered first: the report may come at once.
      this.pending.add(key, msg.pending);
      await this.client.publishAsync(msg.topic, msg.payload, { qos: 0, retain: false });
      this.counts.commandsSent++;
      this.d.logger.info({ event: 'sparkplug_command', deviceId: device.id, cmdId: cmd.cmdId, topic: msg.topic, metric: write.metric }, `command sent to ${key} as ${write.device ? 'DCMD' : 'NCMD'}`);
    });
  }

  private report(ctx: Ctx, problems: { unknownAliases: number; unmappable: string[] }): void {
    if (problems.unknownAliases > 0) this.requestRebirth(ctx.t, `${problems.unknownAliases} metric alias(es) this host does not know`);
    if (problems.unmappable.length > 0) this.d.logger.warn({ event: 'sparkplug_unmappable', deviceId: ctx.device.id, problems: problems.unmappable.slice(0, 10) }, 'Sparkplug metrics left out of the reading');
  }

  /** Sparkplug 3.0 "Reorder Timeout": a gap still open after the timeout makes a rebirth request. */
  private watchGap(t: SparkplugTopic, session: EdgeNodeSession, [from, to]: [number, number]): void {
    this.counts.gaps++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const key = nodeKey(t.groupId, t.edgeNodeId);
      if (this.closed || this.sessions.get(key) !== session) return;
      const missing = session.missing(from, to);
      if (missing > 0) this.requestRebirth(t, `${missing} message(s) missing (ledger seq ${from}..${to} of boot ${session.boot}) after ${this.d.reorderTimeoutMs} ms`);
    }, this.d.reorderTimeoutMs);
    timer.unref();
    this.timers.add(timer);
  }

  private requestRebirth(t: SparkplugTopic, why: string): void {
    const key = nodeKey(t.groupId, t.edgeNodeId);
    const now = this.d.clock();
    const last = this.lastRebirth.get(key);
    if (this.closed || !this.client?.connected || (last !== undefined && now - last < (this.d.rebirthIntervalMs ?? 5000))) return;
    this.lastRebirth.set(key, now);
    this.counts.rebirthRequests++;
    this.d.logger.warn({ event: 'sparkplug_rebirth_request', edgeNode: key, why }, `rebirth requested from ${key}: ${why}`);
    // Sparkplug 3.0: NCMD with QoS 0, not retained.
    this.client.publishAsync(`spBv1.0/${t.groupId}/NCMD/${t.edgeNodeId}`, rebirthRequest(now), { qos: 0, retain: false }).catch((err: Error) => this.d.logger.warn({ event: 'sparkplug_rebirth_failed', edgeNode: key, err: err.message }, 'rebirth request not sent'));
  }
}

interface Ctx {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  t: SparkplugTopic;
  device: DeviceRecord;
  mapping: SparkplugMapping;
  p: Payload;
}
