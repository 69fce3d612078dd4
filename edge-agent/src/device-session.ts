import { buildTopic, type Channel, type DeviceEvent, type DeviceType, type EventType, type SampleByType, type Telemetry } from '@tsunagaru/firmware-contracts';
import { connect, type MqttClient } from 'mqtt';
import { CommandDispatcher, type CommandHandler } from './commands.js';
import { connackError, connackReturnCode, EdgeAgentError } from './errors.js';
import { birthPayload, deathPayload, encode, eventPayload, telemetryPayload, type EncodedMessage } from './payloads.js';
import { PendingPublishes, withTimeout } from './pending.js';
import { mqttClientOptions, resolveSessionOptions, type DeviceSessionOptions, type ResolvedSessionOptions } from './session-options.js';
import type { PublishOptions, SessionEvent, SessionState, StartOptions, StopOptions } from './session-types.js';

/**
 * The MQTT side of one device (contract v1): boot numbering, birth/will/death on the retained `state`
 * topic, numbered Telemetry and Events at QoS 1, and acks for commands on its own `cmd` topic.
 */
export class DeviceSession<T extends DeviceType = DeviceType> {
  readonly deviceId: string;
  readonly type: T;
  private readonly o: ResolvedSessionOptions<T>;
  private readonly commands = new CommandDispatcher();
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private readonly pending = new PendingPublishes();
  private client: MqttClient | undefined;
  private status: SessionState = 'idle';
  private currentBoot: number | undefined;
  private linkUp = false;
  /** Set while start() is in progress, so stop() can cancel it. */
  private abortStart: ((err: EdgeAgentError) => void) | undefined;
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  /** Announced in the birth; changes with setSampleSec(). */
  private sampleSec: number;

  constructor(options: DeviceSessionOptions<T>) {
    this.o = resolveSessionOptions(options);
    this.deviceId = this.o.deviceId;
    this.type = this.o.type;
    this.sampleSec = this.o.sampleSec;
  }

  /** Changes the interval announced in the birth; re-publishes the birth now when connected. */
  async setSampleSec(sec: number): Promise<void> {
    this.sampleSec = sec;
    const client = this.client;
    if (!client?.connected || this.currentBoot === undefined) return;
    const birth = this.encode('state', birthPayload(this.deviceId, this.currentBoot, this.o.clock(), { ...this.o, sampleSec: sec }));
    await client.publishAsync(birth.topic, birth.payload, { qos: 1, retain: true });
  }

  /**
   * Publishes a message numbered and encoded elsewhere (the edge agent's buffer) at QoS 1; resolves on
   * PUBACK. While the link is down MQTT.js keeps it and sends it again after reconnecting.
   */
  publishPrepared(topic: string, payload: Buffer): Promise<void> {
    try {
      const client = this.requireClient();
      return this.pending.track(client.publishAsync(topic, payload, { qos: 1 }), (err) => this.publishFailed(err));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new EdgeAgentError('EDGE_ERR_PUBLISH_FAILED', String(err)));
    }
  }

  get state(): SessionState {
    return this.status;
  }

  /** Boot of the current (or last) start; undefined before the first start. */
  get boot(): number | undefined {
    return this.currentBoot;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Messages sent and not yet acknowledged by the broker. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Starts a new boot and connects. Resolves once the broker accepted the connection and acknowledged the
   * birth. Rejects with EDGE_ERR_NOT_AUTHORIZED / EDGE_ERR_CONNECT_REFUSED on a CONNACK refusal, or
   * EDGE_ERR_CONNECT_TIMEOUT after `startTimeoutMs` of failed attempts. A stopped session may start again.
   */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.status !== 'idle' && this.status !== 'stopped') {
      throw new EdgeAgentError('EDGE_ERR_INVALID_STATE', `device "${this.deviceId}": start() while ${this.status}`, { deviceId: this.deviceId });
    }
    this.status = 'starting';
    this.stopRequested = false;
    let client: MqttClient | undefined;
    try {
      const boot = await this.o.identity.nextBoot();
      this.currentBoot = boot;
      if (this.stopRequested) throw this.stoppedError('stopped while starting');
      client = connect(this.o.url, mqttClientOptions(this.o, this.encode('state', deathPayload(this.deviceId, boot))));
      this.client = client;
      const background = options.waitForConnection === false;
      const connected = this.connectFirstTime(client, boot, background ? undefined : this.o.startTimeoutMs);
      if (background) {
        // The caller works offline meanwhile (an edge agent buffering); later failures arrive as 'error' events.
        connected.catch((err: unknown) => this.emitError(err instanceof EdgeAgentError ? err : this.publishFailed(err)));
      } else {
        await connected;
      }
      this.status = 'running';
      this.o.logger.info({ deviceId: this.deviceId, boot, url: this.o.url, connected: this.connected }, 'device session started');
    } catch (err) {
      client?.end(true);
      this.client = undefined;
      this.status = this.stopRequested ? 'stopped' : 'idle';
      throw err;
    } finally {
      this.abortStart = undefined;
    }
  }

  /** Publishes samples as one Telemetry with the next seq; resolves with the payload once PUBACKed. */
  publishTelemetry(samples: readonly SampleByType[T][], options: PublishOptions = {}): Promise<Telemetry<T>> {
    return this.publishNumbered('telemetry', (seq) => telemetryPayload<T>(this.envelope(seq), samples, options.replay));
  }

  /**
   * Publishes an Event with the next seq; `ts` defaults to the session clock. Resolves once PUBACKed.
   * `replay` marks an event kept while offline and sent late (contract v1, "Envelope").
   */
  publishEvent(type: EventType<T>, detail?: Record<string, unknown>, ts?: number, options: PublishOptions = {}): Promise<DeviceEvent<T>> {
    return this.publishNumbered('event', (seq) => eventPayload<T>(this.envelope(seq), ts ?? this.o.clock(), type, detail, options.replay));
  }

  /** Installs the command handler (one at a time); returns a function that removes it. */
  onCommand(handler: CommandHandler): () => void {
    this.commands.setHandler(handler);
    return () => this.commands.setHandler(undefined);
  }

  onEvent(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops the session (a start in progress is cancelled); messages still unacknowledged afterwards reject
   * with EDGE_ERR_STOPPED. Concurrent calls share one stop.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.status === 'starting') {
      this.stopRequested = true;
      this.abortStart?.(this.stoppedError('stopped while starting'));
      return Promise.resolve();
    }
    const client = this.client;
    if (this.status === 'stopping' && this.stopping) return this.stopping;
    if (!client || this.status !== 'running') return Promise.resolve();
    this.status = 'stopping';
    this.stopping = this.shutdown(client, options.graceful ?? true).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async shutdown(client: MqttClient, graceful: boolean): Promise<void> {
    try {
      if (graceful && client.connected) {
        await withTimeout(this.pending.drained(), this.o.drainTimeoutMs);
        const death = this.encode('state', deathPayload(this.deviceId, this.currentBoot ?? 0, this.o.clock()));
        const sent = await withTimeout(client.publishAsync(death.topic, death.payload, { qos: 1, retain: true }), this.o.drainTimeoutMs);
        if (!sent) this.o.logger.warn({ deviceId: this.deviceId }, 'death not acknowledged; the broker may send the will');
        // DISCONNECT makes the broker discard the will [MQTT-3.14.4-3]; our own death is already retained.
        await client.endAsync();
      } else {
        // No DISCONNECT: the broker sees a broken connection and publishes the will [MQTT-3.1.2-8].
        await client.endAsync(true);
      }
    } finally {
      this.pending.rejectAll(this.stoppedError('stopped before the broker acknowledged'));
      this.client = undefined;
      this.linkUp = false;
      this.status = 'stopped';
      await this.o.identity.flush();
      this.o.logger.info({ deviceId: this.deviceId, boot: this.currentBoot, graceful }, 'device session stopped');
    }
  }

  /** Wires the client and waits for the first accepted connection with an acknowledged birth. */
  private connectFirstTime(client: MqttClient, boot: number, timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let lastNetworkError: Error | undefined;
      let first = true;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              const why = lastNetworkError ? `: ${lastNetworkError.message}` : '';
              fail(new EdgeAgentError('EDGE_ERR_CONNECT_TIMEOUT', `device "${this.deviceId}" could not connect to ${this.o.url} within ${timeoutMs} ms${why}`, { deviceId: this.deviceId, cause: lastNetworkError }));
            }, timeoutMs);
      const fail = (err: EdgeAgentError): void => {
        clearTimeout(timer);
        if (first) reject(err);
        else this.emitError(err);
        first = false;
      };
      this.abortStart = fail;
      client.on('connect', () => {
        const reconnect = !first;
        this.linkUp = true;
        this.onConnected(client, boot, reconnect).then(
          () => {
            this.emit({ kind: 'connected', reconnect });
            if (first) {
              first = false;
              clearTimeout(timer);
              resolve();
            }
          },
          (err: unknown) => this.emitError(err instanceof EdgeAgentError ? err : this.publishFailed(err)),
        );
      });
      client.on('close', () => {
        if (!this.linkUp) return;
        this.linkUp = false;
        // Our own stop closes the connection too; only an unexpected loss deserves a warning.
        if (this.status !== 'stopping') this.o.logger.warn({ deviceId: this.deviceId, boot }, 'connection lost');
        this.emit({ kind: 'disconnected' });
      });
      client.on('error', (err) => {
        const rc = connackReturnCode(err);
        if (rc !== undefined) return fail(connackError(this.deviceId, this.o.url, rc, err));
        lastNetworkError = err;
        this.o.logger.warn({ deviceId: this.deviceId, err: err.message }, 'connection error; retrying');
      });
      client.on('message', (topic, payload) => void this.onCommandMessage(client, topic, payload));
    });
  }

  /** Birth on every (re)connect (contract v1, "State"), then the cmd subscription the first time. */
  private async onConnected(client: MqttClient, boot: number, reconnect: boolean): Promise<void> {
    const birth = this.encode('state', birthPayload(this.deviceId, boot, this.o.clock(), { ...this.o, sampleSec: this.sampleSec }));
    await client.publishAsync(birth.topic, birth.payload, { qos: 1, retain: true });
    // MQTT.js resubscribes by itself when the broker lost our session, so subscribe once per start.
    if (reconnect) return;
    const topic = buildTopic(this.type, this.deviceId, 'cmd');
    const grants = await client.subscribeAsync(topic, { qos: 1 });
    if (grants.some((g) => g.qos === 128)) {
      this.emitError(new EdgeAgentError('EDGE_ERR_SUBSCRIBE_DENIED', `device "${this.deviceId}": the broker refused the subscription to ${topic}; commands will not arrive`, { deviceId: this.deviceId }));
    }
  }

  private async onCommandMessage(client: MqttClient, topic: string, payload: Buffer): Promise<void> {
    try {
      const ctx = { deviceId: this.deviceId, type: this.type, boot: this.currentBoot ?? 0, now: this.o.clock() };
      const outcome = await this.commands.dispatch(topic, payload, ctx);
      if (!outcome.ack) {
        this.o.logger.warn({ deviceId: this.deviceId, topic, reason: outcome.dropped }, 'command dropped');
        return;
      }
      const ack = this.encode('cmd/ack', outcome.ack);
      await client.publishAsync(ack.topic, ack.payload, { qos: 1 });
      // Only now, with the ack acknowledged by the broker, may a command act on the process (reboot).
      if (outcome.afterAck) await outcome.afterAck();
    } catch (err) {
      this.o.logger.error({ deviceId: this.deviceId, topic, err: (err as Error).message }, 'command ack failed');
    }
  }

  /**
   * Builds and encodes with the next seq, and consumes the seq only once the payload is valid: a refused
   * payload must not leave a gap, which the ingest would read as lost data.
   */
  private publishNumbered<P extends object>(channel: Channel, build: (seq: number) => P): Promise<P> {
    try {
      const client = this.requireClient();
      const payload = build(this.o.identity.current().nextSeq);
      const msg = this.encode(channel, payload);
      this.o.identity.takeSeq();
      return this.pending.track(client.publishAsync(msg.topic, msg.payload, { qos: 1 }), (err) => this.publishFailed(err)).then(() => payload);
    } catch (err) {
      // Callers get one failure path (a rejection), whether the payload was refused here or by the broker.
      return Promise.reject(err instanceof Error ? err : new EdgeAgentError('EDGE_ERR_PUBLISH_FAILED', String(err)));
    }
  }

  private stoppedError(why: string): EdgeAgentError {
    return new EdgeAgentError('EDGE_ERR_STOPPED', `device "${this.deviceId}" ${why}`, { deviceId: this.deviceId });
  }

  private envelope(seq: number): { id: string; boot: number; seq: number } {
    return { id: this.deviceId, boot: this.currentBoot ?? 0, seq };
  }

  private encode(channel: Channel, payload: object): EncodedMessage {
    return encode(this.type, this.deviceId, channel, payload, this.o.validateOutgoing);
  }

  private requireClient(): MqttClient {
    if (this.status === 'running' && this.client) return this.client;
    const code = this.status === 'stopping' || this.status === 'stopped' ? 'EDGE_ERR_STOPPED' : 'EDGE_ERR_NOT_STARTED';
    throw new EdgeAgentError(code, `device "${this.deviceId}": cannot publish while ${this.status}`, { deviceId: this.deviceId });
  }

  private publishFailed(err: unknown): EdgeAgentError {
    const message = err instanceof Error ? err.message : String(err);
    return new EdgeAgentError('EDGE_ERR_PUBLISH_FAILED', `device "${this.deviceId}": publish failed: ${message}`, { deviceId: this.deviceId, cause: err });
  }

  private emitError(error: EdgeAgentError): void {
    this.o.logger.error({ deviceId: this.deviceId, code: error.code, err: error.message }, 'device session error');
    this.emit({ kind: 'error', error });
  }

  private emit(event: SessionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.o.logger.error({ deviceId: this.deviceId, err: (err as Error).message }, 'session event listener threw');
      }
    }
  }
}
