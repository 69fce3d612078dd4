import { join } from 'node:path';
import type { DeviceType, EventType, RegisterMap } from '@tsunagaru/firmware-contracts';
import { DiskBuffer } from '../buffer/disk-buffer.js';
import type { BufferedSample, MessageBuffer } from '../buffer/types.js';
import { DeviceSession } from '../device-session.js';
import { EdgeAgentError } from '../errors.js';
import type { EdgeEvent } from '../edge-events.js';
import { FileIdentityStore, type IdentityStore } from '../identity-store.js';
import type { Logger } from '../logger.js';
import { ModbusBus } from '../modbus/bus.js';
import type { ModbusDriver } from '../modbus/driver.js';
import { ModbusSerialDriver } from '../modbus/modbus-serial-driver.js';
import { RegisterReader } from '../modbus/register-reader.js';
import { loadRegisterMap } from '../register-map-file.js';
import { agentCommandHandler } from './agent-commands.js';
import { loadAgentState, saveAgentState } from './agent-state.js';
import type { AgentConfig } from './config.js';
import { Forwarder } from './forwarder.js';
import { healthReport, type HealthReport } from './health.js';
import { MessageFactory } from './message-factory.js';
import { RateLimiter } from './rate-limiter.js';
import { SampleBatcher } from './sample-batcher.js';
import { Sampler } from './sampler.js';

export interface EdgeAgentDeps {
  logger: Logger;
  /** Default: Modbus TCP or RTU from the config. Tests pass a ScriptedDriver. */
  driver?: ModbusDriver;
  /** Default: DiskBuffer in `storage.dir/buffer`. */
  buffer?: MessageBuffer;
  /** Default: FileIdentityStore in `storage.dir`. */
  identity?: IdentityStore;
  /** Epoch ms for timestamps. Default Date.now. */
  clock?: () => number;
  /** Called after a `reboot` command was acknowledged, with the exit code for the supervisor. */
  onRestart?: (exitCode: number) => void;
}

/** Exit code of a `reboot` command (EX_TEMPFAIL): a supervisor restarts the agent on it. */
export const RESTART_EXIT_CODE = 75;

function driverFor(config: AgentConfig): ModbusDriver {
  const m = config.modbus;
  return m.transport === 'tcp' ? ModbusSerialDriver.tcp({ host: m.host, port: m.port, connectTimeoutMs: m.timeoutMs * 3 }) : ModbusSerialDriver.rtu(m);
}

/**
 * The edge agent: polls a controller over Modbus, turns readings into contract Telemetry and edge Events,
 * buffers every message on disk before publishing it, replays the backlog after an outage, and answers
 * commands. One agent is one device.
 */
export class EdgeAgent {
  readonly bus: ModbusBus;
  readonly buffer: MessageBuffer;
  readonly identity: IdentityStore;
  readonly session: DeviceSession<DeviceType>;
  readonly reader: RegisterReader;
  readonly factory: MessageFactory<DeviceType>;
  readonly forwarder: Forwarder;
  readonly sampler: Sampler<DeviceType>;
  private sampleSec: number;
  private readonly batcher: SampleBatcher;
  private work: Promise<unknown> = Promise.resolve();
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  private constructor(
    readonly config: AgentConfig,
    readonly map: RegisterMap,
    sampleSec: number,
    private readonly deps: EdgeAgentDeps,
  ) {
    const { device, storage, modbus, mqtt } = config;
    const logger = deps.logger;
    this.clock = deps.clock ?? Date.now;
    this.sampleSec = sampleSec;
    this.identity = deps.identity ?? new FileIdentityStore({ dir: storage.dir, deviceId: device.id, logger });
    this.buffer = deps.buffer ?? new DiskBuffer({ dir: join(storage.dir, 'buffer'), maxBytes: storage.maxBytes, segmentBytes: storage.segmentBytes, historyBytes: storage.historyBytes, logger });
    this.bus = new ModbusBus(deps.driver ?? driverFor(config), { deviceId: device.id, timeoutMs: modbus.timeoutMs, retries: modbus.retries, queueLimit: modbus.queueLimit, logger });
    this.reader = new RegisterReader(map, this.bus, modbus.unitId, { maxGap: modbus.maxGap });
    this.session = new DeviceSession<DeviceType>({
      url: mqtt.url, deviceId: device.id, type: device.type, secret: device.secret, fw: device.fw, model: device.model, sampleSec,
      identity: this.identity, clock: this.clock, logger, keepaliveSec: mqtt.keepaliveSec, reconnectPeriodMs: mqtt.reconnectPeriodMs,
    });
    this.factory = new MessageFactory<DeviceType>(device.type, device.id, this.identity, process.env.NODE_ENV !== 'production', storage.batchSamples);
    this.batcher = new SampleBatcher(this.buffer, this.factory);
    const limiter = new RateLimiter({ messagesPerSec: mqtt.maxMessagesPerSec, bytesPerSec: mqtt.maxBytesPerSec });
    this.forwarder = new Forwarder(this.buffer, (topic, payload) => this.session.publishPrepared(topic, payload), { type: device.type, deviceId: device.id, maxInFlight: mqtt.maxInFlight, limiter, logger, clock: this.clock });
    this.sampler = new Sampler<DeviceType>(this.reader, {
      type: device.type, deviceId: device.id, intervalMs: this.intervalMs(sampleSec), watchIntervalMs: config.sampling.watchIntervalMs / config.sampling.speed,
      clock: this.clock, logger, onSample: (s) => this.serial(() => this.enqueueSample(s)), onEdges: (events, ts) => this.raise(events, ts),
    });
  }

  /** Loads the register map and the persisted sample interval; nothing is opened yet. */
  static async create(config: AgentConfig, deps: EdgeAgentDeps): Promise<EdgeAgent> {
    const map = await loadRegisterMap(config.registerMap);
    if (map.deviceType !== config.device.type) {
      throw new EdgeAgentError('EDGE_ERR_CONFIG', `registerMap: "${map.name}" is a ${map.deviceType} map but device.type is ${config.device.type}; pick a ${config.device.type} map`);
    }
    const state = await loadAgentState(config.storage.dir, config.device.id);
    const sampleSec = state && state.configSampleSec === config.sampling.intervalSec ? state.sampleSec : config.sampling.intervalSec;
    return new EdgeAgent(config, map, sampleSec, deps);
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  get sampleIntervalSec(): number {
    return this.sampleSec;
  }

  /** Recovers the buffer, takes a new boot, connects in the background and starts polling at once. */
  async start(): Promise<void> {
    await this.buffer.open();
    this.batcher.recover();
    this.session.onEvent((e) => {
      // Seal what was sampled offline first, so it goes out as one replay batch; then start sending.
      if (e.kind === 'connected') {
        void this.serial(() => this.sealBatch('replay'))
          .catch(() => undefined)
          .then(() => this.forwarder.setConnected(this.session.connected));
      }
      else if (e.kind === 'disconnected') this.forwarder.setConnected(false);
      else this.logger.error({ deviceId: this.config.device.id, code: e.error.code, err: e.error.message }, 'mqtt session error');
    });
    this.session.onCommand(agentCommandHandler(this));
    await this.session.start({ waitForConnection: false });
    this.sampler.start();
    const every = this.config.health.logIntervalSec * 1000;
    this.healthTimer = setInterval(() => this.logger.info({ event: 'agent_health', ...this.health() }, 'health'), every);
    this.healthTimer.unref();
    this.logger.info({ event: 'agent_started', deviceId: this.config.device.id, boot: this.session.boot, map: this.map.name, modbus: this.bus.driver.endpoint, sampleSec: this.sampleSec, buffer: this.buffer.stats() }, 'edge agent started');
  }

  health(): HealthReport {
    return healthReport(this);
  }

  /** Graceful: stop polling, publish what is in flight (bounded), publish the death, close everything. */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    clearInterval(this.healthTimer);
    await this.sampler.stop();
    await this.work.catch(() => undefined);
    if (options.graceful !== false && this.session.connected) {
      await this.serial(() => this.sealBatch('live'));
      await this.forwarder.drained(5000);
    }
    this.forwarder.stop();
    await this.session.stop(options).catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'session stop failed'));
    await this.bus.close();
    await this.buffer.close();
    await this.identity.flush();
    this.logger.info({ event: 'agent_stopped', deviceId: this.config.device.id, buffer: this.buffer.stats() }, 'edge agent stopped');
  }

  /** `set_sample_interval`: applies from the next tick, announced in a new birth, kept across restarts. */
  async setSampleInterval(sec: number): Promise<void> {
    this.sampleSec = sec;
    this.sampler.setIntervalMs(this.intervalMs(sec));
    await saveAgentState(this.config.storage.dir, this.config.device.id, { sampleSec: sec, configSampleSec: this.config.sampling.intervalSec });
    await this.session.setSampleSec(sec);
  }

  /** `replay`: delivered telemetry still kept, sent again with its own (boot, seq) and `replay: true`. */
  async replayRange(fromTs: number, toTs: number, limit = 10_000): Promise<{ messages: number; samples: number; truncated: boolean }> {
    let messages = 0;
    let samples = 0;
    for await (const m of this.buffer.history(fromTs, toTs)) {
      if (messages >= limit) return { messages, samples, truncated: true };
      await this.buffer.push(this.factory.replayCopy(m));
      messages++;
      samples += m.samples;
    }
    this.forwarder.kick();
    return { messages, samples, truncated: false };
  }

  restart(): void {
    this.deps.onRestart?.(RESTART_EXIT_CODE);
  }

  private intervalMs(sec: number): number {
    return (sec * 1000) / this.config.sampling.speed;
  }

  /** Runs buffer operations one after another, so samples, seals and batches keep their order. */
  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.work.then(fn, fn);
    this.work = next.catch((err: unknown) => this.logger.error({ deviceId: this.config.device.id, err: (err as Error).message }, 'buffer operation failed'));
    return next;
  }

  private async enqueueSample(sample: BufferedSample): Promise<void> {
    if (await this.batcher.add(sample, this.session.connected)) this.forwarder.kick();
  }

  private async sealBatch(lane: 'live' | 'replay'): Promise<void> {
    if (await this.batcher.seal(lane)) this.forwarder.kick();
  }

  /** Edge events go straight to the buffer's event lane, ahead of any backlog. */
  private async raise(events: EdgeEvent<DeviceType>[], ts: number): Promise<void> {
    const replay = !this.session.connected;
    for (const e of events) {
      await this.buffer.push(this.factory.event(e.type as EventType<DeviceType>, ts, e.detail, replay));
      this.logger.info({ event: 'edge_event', deviceId: this.config.device.id, type: e.type, detail: e.detail }, `event ${e.type}`);
    }
    this.forwarder.kick();
  }
}
