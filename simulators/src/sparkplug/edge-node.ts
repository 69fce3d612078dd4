/**
 * A Sparkplug B 3.0 edge node, built on MQTT.js and Eclipse Tahu's payload library (`sparkplug-payload`).
 * Tahu's JavaScript client (`sparkplug-client` 3.2) is not used: it keeps bdSeq at 0 for every session
 * (so a stale NDEATH cannot be told from the current one, the very case a host must handle), sends its
 * NDEATH will at QoS 0 where 3.0 requires 1, does not wait for a primary host's STATE, and brings a second,
 * older MQTT.js (4.x). This node does what the specification asks of an edge node:
 * - CONNECT with the NDEATH will (bdSeq, QoS 1, not retained); bdSeq +1 per new MQTT session (0–255);
 * - optionally waits for its primary host's STATE `online: true` before its births;
 * - NBIRTH (seq 0, bdSeq, `Node Control/Rebirth` = false without alias, every metric with name and alias),
 *   then a DBIRTH per device; NDATA/DDATA by exception with aliases only; seq +1 per message, 255 → 0;
 * - a rebirth request (NCMD `Node Control/Rebirth` = true) is answered with NBIRTH + DBIRTHs, same bdSeq;
 *   `Node Control/Reboot` likewise (the node restarts its application, its MQTT session stays);
 * - a write (NCMD of a node metric, DCMD of a device metric, by name or alias) sets the metric and is
 *   reported back by exception in the next NDATA/DDATA, at once, as a real edge node confirms a write.
 * `drop` loses data messages on the way (their seq is used, nothing is published), with the ground truth.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import sparkplug from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';

const codec = sparkplug.get('spBv1.0')!;

export type MetricType = 'Boolean' | 'Float' | 'Double' | 'Int32' | 'UInt32' | 'UInt64' | 'String';
export type MetricValue = number | boolean | string;

/** The edge node's metrics: node-level ('' device) and per device, each with a fixed alias. */
export interface MetricDef {
  device: string;
  name: string;
  type: MetricType;
}

export interface EdgeNodeOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  groupId: string;
  edgeNodeId: string;
  metrics: readonly MetricDef[];
  /** Wait for this host application's STATE online before the births (Sparkplug 3.0 "primary host"). */
  primaryHostId?: string;
  /** bdSeq of the first MQTT session. Default 0. */
  bdSeq?: number;
}

/** What the node sent in one birth-to-birth span (one boot as the host numbers them). */
export interface BirthTruth {
  bdSeq: number;
  /** Messages with a seq, in ledger numbering (NBIRTH = 0), published or dropped. */
  sent: number;
  dropped: number[];
  /** The ledger's gaps for this boot: dropped messages below the highest one published. */
  expectedMissing: number;
  /** What made this birth: the first connection, a reconnect, or the host's rebirth request. */
  cause: 'connect' | 'rebirth';
}

export class SparkplugEdgeNode {
  private client!: MqttClient;
  private bdSeq: number;
  private seq = 0;
  private ledgerSeq = 0;
  private maxPublished = 0;
  private readonly current = new Map<string, MetricValue>();
  private readonly published = new Map<string, MetricValue>();
  private readonly alias = new Map<string, number>();
  readonly births: BirthTruth[] = [];
  rebirthRequests = 0;
  /** Writes received (NCMD/DCMD other than a rebirth request), in order: the commands' ground truth. */
  readonly writes: Array<{ verb: 'NCMD' | 'DCMD'; device: string; metric: string; value: MetricValue }> = [];
  /** Return true to lose the data message about to be published (its seq is used all the same). */
  drop: (kind: 'NDATA' | 'DDATA') => boolean = () => false;
  private hostOnline: { online: boolean; timestamp: number } | undefined;
  private hostWaiters: Array<() => void> = [];
  /** Publishing runs one operation at a time: a rebirth never interleaves with a data round. */
  private ops: Promise<void> = Promise.resolve();

  private serial(op: () => Promise<void>): Promise<void> {
    const next = this.ops.then(op, op);
    this.ops = next.catch(() => undefined);
    return next;
  }

  constructor(private readonly o: EdgeNodeOptions) {
    this.bdSeq = o.bdSeq ?? 0;
    o.metrics.forEach((m, i) => this.alias.set(key(m.device, m.name), i + 1));
  }

  /** `group/edgeNode`. */
  get id(): string {
    return `${this.o.groupId}/${this.o.edgeNodeId}`;
  }

  get devices(): string[] {
    return [...new Set(this.o.metrics.map((m) => m.device).filter((d) => d !== ''))];
  }

  private topic(verb: string, device = ''): string {
    return `spBv1.0/${this.o.groupId}/${verb}/${this.o.edgeNodeId}${device ? `/${device}` : ''}`;
  }

  /** Sets a metric's current value (published with the next births or data). */
  set(device: string, name: string, value: MetricValue): void {
    this.current.set(key(device, name), value);
  }

  /** Connects (a new MQTT session: bdSeq +1 after the first), waits for the primary host, publishes the births. */
  async connect(timestamp: number): Promise<void> {
    const will = { topic: this.topic('NDEATH'), payload: Buffer.from(codec.encodePayload({ timestamp, metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] })), qos: 1 as const, retain: false };
    this.client = await connectAsync(this.o.url, {
      clientId: this.o.clientId ?? `${this.o.username ?? this.o.edgeNodeId}:${this.o.edgeNodeId}`,
      ...(this.o.username ? { username: this.o.username, password: this.o.password ?? '' } : {}),
      clean: true,
      reconnectPeriod: 0,
      protocolVersion: 4,
      will,
    });
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    await this.client.subscribeAsync([this.topic('NCMD'), `${this.topic('DCMD')}/+`], { qos: 0 });
    if (this.o.primaryHostId) {
      await this.client.subscribeAsync(`spBv1.0/STATE/${this.o.primaryHostId}`, { qos: 1 });
      await this.waitForHost();
    }
    await this.serial(() => this.publishBirths(timestamp, 'connect'));
  }

  private waitForHost(): Promise<void> {
    if (this.hostOnline?.online) return Promise.resolve();
    return new Promise((resolve) => this.hostWaiters.push(resolve));
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic.startsWith('spBv1.0/STATE/')) {
      let s: { online?: unknown; timestamp?: unknown };
      try {
        s = JSON.parse(payload.toString()) as typeof s;
      } catch {
        return;
      }
      const ts = typeof s.timestamp === 'number' ? s.timestamp : 0;
      // An older STATE (a stale will of the host's previous session) is not the host's current state.
      if (this.hostOnline && ts < this.hostOnline.timestamp) return;
      this.hostOnline = { online: s.online === true, timestamp: ts };
      if (this.hostOnline.online) for (const w of this.hostWaiters.splice(0)) w();
      return;
    }
    const dcmd = `${this.topic('DCMD')}/`;
    if (topic !== this.topic('NCMD') && !topic.startsWith(dcmd)) return;
    const device = topic.startsWith(dcmd) ? topic.slice(dcmd.length) : '';
    const cmd = codec.decodePayload(payload);
    let rebirth = false;
    let wrote = false;
    for (const m of cmd.metrics ?? []) {
      const name = m.name ?? this.o.metrics.find((d) => d.device === device && this.alias.get(key(d.device, d.name)) === Number(m.alias))?.name;
      if (device === '' && (name === 'Node Control/Rebirth' || name === 'Node Control/Reboot') && m.value === true) {
        if (name === 'Node Control/Rebirth') this.rebirthRequests++;
        else this.writes.push({ verb: 'NCMD', device, metric: name, value: true });
        rebirth = true;
        continue;
      }
      const def = this.o.metrics.find((d) => d.device === device && d.name === name);
      if (!def || m.value === undefined || m.value === null) continue;
      const value = typeof m.value === 'object' && typeof (m.value as { toNumber?: unknown }).toNumber === 'function' ? (m.value as { toNumber(): number }).toNumber() : (m.value as MetricValue);
      this.writes.push({ verb: device === '' ? 'NCMD' : 'DCMD', device, metric: def.name, value });
      this.set(device, def.name, value);
      wrote = true;
    }
    if (rebirth) void this.serial(() => this.publishBirths(Date.now(), 'rebirth')).catch(() => undefined);
    else if (wrote) void this.publishChanges(Date.now()).catch(() => undefined);
  }

  private closeBirth(): void {
    const b = this.births.at(-1);
    if (b) b.expectedMissing = b.dropped.filter((s) => s < this.maxPublished).length;
  }

  private metricOut(m: MetricDef, withName: boolean, value: MetricValue): UMetric {
    return { ...(withName ? { name: m.name } : {}), alias: this.alias.get(key(m.device, m.name))!, type: m.type, value } as UMetric;
  }

  /** NBIRTH (seq 0) and a DBIRTH per device, every metric with its current value. */
  private async publishBirths(timestamp: number, cause: BirthTruth['cause']): Promise<void> {
    this.closeBirth();
    this.births.push({ bdSeq: this.bdSeq, sent: 0, dropped: [], expectedMissing: 0, cause });
    this.seq = 0;
    this.ledgerSeq = -1;
    this.maxPublished = 0;
    const nodeMetrics = this.o.metrics.filter((m) => m.device === '');
    const nbirth: UPayload = {
      timestamp,
      seq: this.nextSeq(),
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
        { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
        ...nodeMetrics.map((m) => this.metricOut(m, true, this.current.get(key('', m.name)) ?? zero(m.type))),
      ],
    };
    await this.publish(this.topic('NBIRTH'), nbirth);
    for (const m of nodeMetrics) this.published.set(key('', m.name), this.current.get(key('', m.name)) ?? zero(m.type));
    for (const device of this.devices) {
      const metrics = this.o.metrics.filter((m) => m.device === device);
      await this.publish(this.topic('DBIRTH', device), { timestamp, seq: this.nextSeq(), metrics: metrics.map((m) => this.metricOut(m, true, this.current.get(key(device, m.name)) ?? zero(m.type))) });
      for (const m of metrics) this.published.set(key(device, m.name), this.current.get(key(device, m.name)) ?? zero(m.type));
    }
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    this.ledgerSeq++;
    this.births.at(-1)!.sent++;
    return s;
  }

  private async publish(topic: string, p: UPayload, dropped = false): Promise<void> {
    if (dropped) {
      this.births.at(-1)!.dropped.push(this.ledgerSeq);
      return;
    }
    this.maxPublished = Math.max(this.maxPublished, this.ledgerSeq);
    // Sparkplug 3.0: births and data at QoS 0, never retained.
    await this.client.publishAsync(topic, Buffer.from(codec.encodePayload(p)), { qos: 0, retain: false });
  }

  /** NDATA and DDATA of the metrics that changed since they were last published (report by exception). */
  publishChanges(timestamp: number): Promise<void> {
    return this.serial(() => this.changes(timestamp));
  }

  private async changes(timestamp: number): Promise<void> {
    for (const device of ['', ...this.devices]) {
      const changed = this.o.metrics.filter((m) => m.device === device && this.current.get(key(device, m.name)) !== this.published.get(key(device, m.name)));
      if (changed.length === 0) continue;
      const kind = device === '' ? 'NDATA' : 'DDATA';
      const p: UPayload = { timestamp, seq: this.nextSeq(), metrics: changed.map((m) => this.metricOut(m, false, this.current.get(key(device, m.name))!)) };
      const lost = this.drop(kind);
      await this.publish(device === '' ? this.topic('NDATA') : this.topic('DDATA', device), p, lost);
      for (const m of changed) this.published.set(key(device, m.name), this.current.get(key(device, m.name))!);
    }
  }

  /** A DDEATH for one device (its link to the edge node is lost); it is back with its next DBIRTH. */
  deviceDeath(device: string, timestamp: number): Promise<void> {
    return this.serial(() => this.publish(this.topic('DDEATH', device), { timestamp, seq: this.nextSeq(), metrics: [] }));
  }

  /** Graceful stop: NDEATH (the will's payload) then DISCONNECT. The next connect is a new session. */
  async stop(timestamp: number): Promise<void> {
    await this.ops;
    this.closeBirth();
    await this.client.publishAsync(this.topic('NDEATH'), Buffer.from(codec.encodePayload({ timestamp, metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] })), { qos: 1 });
    await this.client.endAsync();
    this.bdSeq = (this.bdSeq + 1) % 256;
  }

  /** The node dies without a word (power cut): the broker publishes its will. The next connect is a new session. */
  crash(): void {
    this.closeBirth();
    this.client.stream.destroy();
    this.client.end(true);
    this.bdSeq = (this.bdSeq + 1) % 256;
  }

  /** Settles the ground truth of the current birth (call before reading `births`). */
  settle(): BirthTruth[] {
    this.closeBirth();
    return this.births;
  }

  async close(): Promise<void> {
    if (this.client && !this.client.disconnected) await this.client.endAsync(true);
  }
}

const key = (device: string, name: string) => `${device}\u0000${name}`;

function zero(type: MetricType): MetricValue {
  return type === 'Boolean' ? false : type === 'String' ? '' : 0;
}
