/**
 * ChirpStack v4 → the ingest. Each event ChirpStack publishes (`application/{app}/device/{devEui}/event/
 * {event}`) is turned into contract v1 messages and handed to the journal, the same durable way in as a
 * device's own MQTT messages (so the PUBACK to ChirpStack's broker waits for the fsync), then validated
 * and stored by the same pipeline:
 *
 * - `up`: Telemetry of the meter provisioned with attribute `devEui`; readings through the mapping of its
 *   device profile, `fCnt` as seq (sessions.ts), `time` as the sample time, best RSSI/SNR as link quality;
 * - `join`: a birth with a new boot;
 * - `ack`: the CommandAck of the command whose downlink the meter confirmed (or did not);
 * - `status`: the meter's battery and link margin (DevStatusAns), kept with its LoRaWAN state;
 * - `txack`, `log`, `location`, `integration`: not data; counted and ignored.
 * Unknown devEui, undecodable uplinks and mapping failures are dead letters with the reason.
 */
import { parseChirpStackEventTopic } from '@tsunagaru/broker';
import type { Command, DeviceRecord, DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import { IngestError } from '../../errors.js';
import type { MessageSink } from '../../intake/sink.js';
import { contractProblem, DeviceIndex, journalContract, SerialQueue, zodProblem, type ContractOut, type IntegrationOutput } from '../shared.js';
import type { IntegrationStateStore } from '../../storage/duckdb/integration-state-store.js';
import { cmdIdOf, downlinkFor, sampleFromUplink, type DownlinkCommand } from './convert.js';
import { bestReception, EVENT_SCHEMAS, isHandledEvent, type AckEvent, type JoinEvent, type StatusEvent, type UpEvent } from './events.js';
import type { ChirpStackMapping } from './mapping.js';
import { judgeJoin, judgeUplink, withSession, type LoraDeviceState, type LoraSession } from './sessions.js';

/** The device attribute that ties a provisioned meter to its LoRaWAN DevEUI. */
export const DEV_EUI_ATTRIBUTE = 'devEui';

export interface ChirpStackAdapterDeps {
  registry: DeviceRegistry;
  mappings: ReadonlyMap<string, ChirpStackMapping>;
  output: IntegrationOutput;
  state: IntegrationStateStore;
  /** Whether the ingest issued this command (an ack for a downlink queued elsewhere is not ours to record). */
  knownCommand: (deviceId: string, cmdId: string) => Promise<boolean>;
  /** A meter's battery from a status event, once saved: the low-battery rule (alerts/engine.ts onMeterBattery). */
  onBattery?: (deviceId: string, batteryPct: number) => void;
  logger: Logger;
  clock: () => number;
}

export interface ChirpStackStats {
  received: number;
  byEvent: Record<string, number>;
  converted: number;
  deadLetters: number;
  ignored: number;
  downlinks: number;
}

/** What the API shows of a LoRaWAN meter: its sessions, latest status and latest reception. */
export interface LoraDeviceView {
  deviceId: string;
  devEui: string;
  applicationId: string;
  boot: number | null;
  sessions: LoraSession[];
  status: LoraDeviceState['status'] | null;
  lastUplink: { at: number; fCnt: number; rssiDbm: number | null; snrDb: number | null; gatewayId: string | null } | null;
}

type Done = { durable: Promise<unknown> };
const DONE: Done = { durable: Promise.resolve() };

export class ChirpStackAdapter implements MessageSink {
  private readonly queue = new SerialQueue();
  private devices = new Map<string, LoraDeviceState>();
  private readonly lastUplink = new Map<string, NonNullable<LoraDeviceView['lastUplink']>>();
  /** The device profile each meter last reported: its mapping encodes the meter's commands. */
  private readonly profiles = new Map<string, string>();
  private readonly index: DeviceIndex;
  private publisher: ((topic: string, payload: Buffer) => Promise<void>) | undefined;
  private readonly counts: ChirpStackStats = { received: 0, byEvent: {}, converted: 0, deadLetters: 0, ignored: 0, downlinks: 0 };

  private constructor(private readonly d: ChirpStackAdapterDeps) {
    this.index = new DeviceIndex(d.registry, (dev) => {
      const eui = dev.attributes[DEV_EUI_ATTRIBUTE];
      return typeof eui === 'string' ? eui.toLowerCase() : undefined;
    });
  }

  static async open(d: ChirpStackAdapterDeps): Promise<ChirpStackAdapter> {
    const adapter = new ChirpStackAdapter(d);
    adapter.devices = await d.state.load<LoraDeviceState>('lorawan');
    return adapter;
  }

  /** Where downlinks go: the MQTT connection ChirpStack subscribes on (ours or its own broker). */
  attachPublisher(publish: (topic: string, payload: Buffer) => Promise<void>): void {
    this.publisher = publish;
  }

  close(): void {
    this.index.close();
  }

  stats(): ChirpStackStats {
    return structuredClone(this.counts);
  }

  view(deviceId: string): LoraDeviceView | undefined {
    const s = this.devices.get(deviceId);
    if (!s) return undefined;
    return { deviceId, devEui: s.devEui, applicationId: s.applicationId, boot: s.sessions.at(-1)?.boot ?? null, sessions: s.sessions, status: s.status ?? null, lastUplink: this.lastUplink.get(deviceId) ?? null };
  }

  enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<Done> {
    return this.queue.run(() => this.handle(topic, payload, receivedAt));
  }

  private deviceByDevEui(devEui: string): DeviceRecord | undefined {
    return this.index.get(devEui.toLowerCase());
  }

  private async refuse(topic: string, payload: Buffer, reason: string, deviceId: string | null, receivedAt: number): Promise<Done> {
    this.counts.deadLetters++;
    this.d.logger.warn({ event: 'integration_dead_letter', integration: 'chirpstack', topic: topic.slice(0, 256), deviceId, reason: reason.slice(0, 512) }, 'ChirpStack event dead-lettered');
    await this.d.output.deadLetter({ topic, payload, reason: `chirpstack: ${reason}`, deviceId, receivedAt });
    return DONE;
  }

  private ignore(event: string, why: string): Done {
    this.counts.ignored++;
    this.d.logger.debug({ event: 'integration_ignored', integration: 'chirpstack', chirpstackEvent: event, why }, 'ChirpStack event ignored');
    return DONE;
  }

  private async handle(topic: string, payload: Buffer, receivedAt: number): Promise<Done> {
    this.counts.received++;
    const t = parseChirpStackEventTopic(topic);
    if (!t) return this.refuse(topic, payload, 'topic: not application/{applicationId}/device/{devEui}/event/{event}', null, receivedAt);
    this.counts.byEvent[t.event] = (this.counts.byEvent[t.event] ?? 0) + 1;
    if (!isHandledEvent(t.event)) return this.ignore(t.event, 'not a data event');
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.refuse(topic, payload, `payload: not JSON (${(err as Error).message.slice(0, 120)}); set json = true in ChirpStack's [integration.mqtt]`, null, receivedAt);
    }
    const parsed = EVENT_SCHEMAS[t.event].safeParse(json);
    if (!parsed.success) return this.refuse(topic, payload, `${t.event} event: ${zodProblem(parsed.error, json)}`, null, receivedAt);
    const ev = parsed.data;
    if (ev.deviceInfo.devEui.toLowerCase() !== t.devEui.toLowerCase()) {
      return this.refuse(topic, payload, `deviceInfo.devEui ${ev.deviceInfo.devEui} differs from the topic's ${t.devEui}`, null, receivedAt);
    }
    const device = this.deviceByDevEui(ev.deviceInfo.devEui);
    if (!device) {
      return this.refuse(topic, payload, `devEui ${ev.deviceInfo.devEui} ("${ev.deviceInfo.deviceName ?? ''}") is not provisioned: provision the meter with attribute ${DEV_EUI_ATTRIBUTE}=${ev.deviceInfo.devEui.toLowerCase()}`, null, receivedAt);
    }
    if (t.event === 'txack') return this.ignore('txack', 'the gateway took the downlink; the meter has not confirmed it yet');
    const mapping = this.d.mappings.get(ev.deviceInfo.deviceProfileName);
    if (!mapping) {
      return this.refuse(topic, payload, `no mapping for device profile "${ev.deviceInfo.deviceProfileName}": add a file with deviceProfileName: ${JSON.stringify(ev.deviceInfo.deviceProfileName)} to CHIRPSTACK_MAPPINGS_DIR`, device.id, receivedAt);
    }
    if (mapping.type !== device.type) {
      return this.refuse(topic, payload, `device ${device.id} is provisioned as ${device.type}, but mapping "${mapping.deviceProfileName}" maps to ${mapping.type}`, device.id, receivedAt);
    }
    const at = Date.parse(ev.time);
    const ctx = { topic, payload, receivedAt, device, mapping, at };
    this.profiles.set(device.id, mapping.deviceProfileName);
    switch (t.event) {
      case 'join':
        return this.join(ctx, ev as JoinEvent);
      case 'up':
        return this.uplink(ctx, ev as UpEvent);
      case 'status':
        return this.status(ctx, ev as StatusEvent);
      case 'ack':
        return this.ack(ctx, ev as AckEvent);
      default:
        return this.ignore(t.event, 'not handled');
    }
  }

  /** Saves the new session, then journals its birth: a boot is never handed out twice. */
  private async startSession(ctx: Ctx, base: { devEui: string; applicationId: string }, session: LoraSession): Promise<Done> {
    const next = withSession(this.devices.get(ctx.device.id), { ...base, deviceProfileName: ctx.mapping.deviceProfileName }, session);
    await this.d.state.save('lorawan', ctx.device.id, next, this.d.clock());
    this.devices.set(ctx.device.id, next);
    const birth: ContractOut = {
      type: ctx.device.type,
      deviceId: ctx.device.id,
      channel: 'state',
      payload: { v: 1, id: ctx.device.id, state: 'online', boot: session.boot, ts: session.joinedAt ?? ctx.at, fw: ctx.mapping.fw ?? 'lorawan', model: ctx.mapping.model ?? ctx.mapping.deviceProfileName.slice(0, 64), sampleSec: ctx.mapping.sampleSec },
    };
    this.d.logger.info({ event: 'lorawan_session', deviceId: ctx.device.id, devEui: base.devEui, boot: session.boot, joined: session.joinedAt !== null }, session.joinedAt !== null ? 'LoRaWAN meter joined: new boot' : 'LoRaWAN meter first heard mid-session');
    return this.emit(ctx, birth);
  }

  private async emit(ctx: Pick<Ctx, 'topic' | 'payload' | 'receivedAt' | 'device'>, m: ContractOut): Promise<Done> {
    const problem = contractProblem(m);
    if (problem) return this.refuse(ctx.topic, ctx.payload, problem, ctx.device.id, ctx.receivedAt);
    this.counts.converted++;
    return journalContract(this.d.output, m, ctx.receivedAt);
  }

  private async join(ctx: Ctx, ev: JoinEvent): Promise<Done> {
    const verdict = judgeJoin(this.devices.get(ctx.device.id), ev.deduplicationId, ctx.at);
    if (verdict.kind === 'refused') return this.refuse(ctx.topic, ctx.payload, verdict.reason, ctx.device.id, ctx.receivedAt);
    const base = { devEui: ev.deviceInfo.devEui.toLowerCase(), applicationId: ev.deviceInfo.applicationId };
    if (verdict.kind === 'same') {
      // A redelivered join: the same birth again (the store keeps it once per boot, status unchanged).
      return this.emit(ctx, { type: ctx.device.type, deviceId: ctx.device.id, channel: 'state', payload: { v: 1, id: ctx.device.id, state: 'online', boot: verdict.session.boot, ts: ctx.at, fw: ctx.mapping.fw ?? 'lorawan', model: ctx.mapping.model ?? ctx.mapping.deviceProfileName.slice(0, 64), sampleSec: ctx.mapping.sampleSec } });
    }
    return this.startSession(ctx, base, verdict.session);
  }

  private async uplink(ctx: Ctx, ev: UpEvent): Promise<Done> {
    const sample = sampleFromUplink(ev, ctx.mapping, ctx.at);
    if (!sample.ok) return this.refuse(ctx.topic, ctx.payload, sample.reason, ctx.device.id, ctx.receivedAt);
    const { verdict, seq } = judgeUplink(this.devices.get(ctx.device.id), ev.fCnt, ctx.at);
    if (verdict.kind === 'refused') return this.refuse(ctx.topic, ctx.payload, verdict.reason, ctx.device.id, ctx.receivedAt);
    const telemetry: ContractOut = {
      type: ctx.device.type,
      deviceId: ctx.device.id,
      channel: 'telemetry',
      payload: { v: 1, id: ctx.device.id, boot: verdict.session.boot, seq: seq!, ts: ctx.at, samples: [sample.value] },
    };
    // Checked before a session is started for it, so a bad uplink never leaves a birth behind.
    const problem = contractProblem(telemetry);
    if (problem) return this.refuse(ctx.topic, ctx.payload, problem, ctx.device.id, ctx.receivedAt);
    const best = bestReception(ev.rxInfo);
    const previous = this.lastUplink.get(ctx.device.id);
    if (!previous || previous.at <= ctx.at) this.lastUplink.set(ctx.device.id, { at: ctx.at, fCnt: ev.fCnt, rssiDbm: best.rssiDbm ?? null, snrDb: best.snrDb ?? null, gatewayId: best.gatewayId ?? null });
    const birth = verdict.kind === 'new' ? await this.startSession(ctx, { devEui: ev.deviceInfo.devEui.toLowerCase(), applicationId: ev.deviceInfo.applicationId }, verdict.session) : DONE;
    const data = await this.emit(ctx, telemetry);
    return { durable: Promise.all([birth.durable, data.durable]) };
  }

  private async status(ctx: Ctx, ev: StatusEvent): Promise<Done> {
    const current = this.devices.get(ctx.device.id);
    if (current?.status && current.status.at > ctx.at) return this.ignore('status', 'older than the status already known');
    const status = { batteryPct: ev.externalPowerSource || ev.batteryLevelUnavailable ? null : ev.batteryLevel, externalPower: ev.externalPowerSource, marginDb: ev.margin, at: ctx.at };
    const next: LoraDeviceState = { ...(current ?? { sessions: [] }), devEui: ev.deviceInfo.devEui.toLowerCase(), applicationId: ev.deviceInfo.applicationId, deviceProfileName: ctx.mapping.deviceProfileName, status };
    await this.d.state.save('lorawan', ctx.device.id, next, this.d.clock());
    this.devices.set(ctx.device.id, next);
    this.counts.converted++;
    this.d.logger.info({ event: 'lorawan_status', deviceId: ctx.device.id, ...status }, 'LoRaWAN meter status (battery, margin)');
    if (status.batteryPct !== null && ctx.device.type === 'water-meter') this.d.onBattery?.(ctx.device.id, status.batteryPct);
    return DONE;
  }

  private async ack(ctx: Ctx, ev: AckEvent): Promise<Done> {
    const cmdId = cmdIdOf(ev.queueItemId);
    if (!(await this.d.knownCommand(ctx.device.id, cmdId))) return this.ignore('ack', `downlink ${ev.queueItemId} was not queued by Tsunagaru`);
    const ack = ev.acknowledged
      ? { v: 1, cmdId, ok: true, result: { fCntDown: ev.fCntDown }, ts: ctx.at }
      : { v: 1, cmdId, ok: false, error: `the meter did not confirm the downlink (fCntDown ${ev.fCntDown}): ChirpStack got no ACK in its receive windows`, ts: ctx.at };
    return this.emit(ctx, { type: ctx.device.type, deviceId: ctx.device.id, channel: 'cmd/ack', payload: ack });
  }

  /**
   * A contract command for a LoRaWAN meter, as ChirpStack `command/down`: undefined when the device is
   * not a LoRaWAN meter (the command goes out on its contract topic). A command the meter's profile has
   * no downlink for is answered at once with a failed ack, so the operator sees why it did nothing.
   */
  sendCommand(device: DeviceRecord, cmd: Command, receivedAt: number): Promise<void> | undefined {
    const eui = device.attributes[DEV_EUI_ATTRIBUTE];
    if (typeof eui !== 'string') return undefined;
    return this.queue.run(async () => {
      const state = this.devices.get(device.id);
      const profile = this.profiles.get(device.id) ?? state?.deviceProfileName;
      const mapping = profile === undefined ? undefined : this.d.mappings.get(profile);
      const fail = async (error: string) => {
        const ctx = { topic: `application/${state?.applicationId ?? '?'}/device/${eui}/command/down`, payload: Buffer.from(JSON.stringify(cmd)), receivedAt, device };
        this.d.logger.warn({ event: 'lorawan_command_refused', deviceId: device.id, cmdId: cmd.cmdId, error }, 'command not sent to the LoRaWAN meter');
        const done = await this.emit(ctx, { type: device.type, deviceId: device.id, channel: 'cmd/ack', payload: { v: 1, cmdId: cmd.cmdId, ok: false, error, ts: receivedAt } });
        await done.durable;
      };
      if (!state) throw new IngestError('INGEST_ERR_INTEGRATION', `LoRaWAN meter ${device.id} (devEui ${eui}) has not been heard yet: its ChirpStack application is unknown; the command waits for its join`);
      const downlink = mapping?.commands?.[cmd.name as keyof NonNullable<ChirpStackMapping['commands']>];
      if (!mapping || !downlink) return fail(`this meter's device profile${mapping ? ` "${mapping.deviceProfileName}"` : ''} has no downlink for "${cmd.name}" (commands in its mapping file)`);
      const down = downlinkFor(cmd, state.devEui, downlink);
      if (!down.ok) return fail(down.reason);
      if (!this.publisher) throw new IngestError('INGEST_ERR_INTEGRATION', 'no ChirpStack connection to send downlinks on');
      await this.publisher(`application/${state.applicationId}/device/${state.devEui}/command/down`, Buffer.from(JSON.stringify(down.value satisfies DownlinkCommand)));
      this.counts.downlinks++;
      this.d.logger.info({ event: 'lorawan_downlink', deviceId: device.id, cmdId: cmd.cmdId, fPort: down.value.fPort, confirmed: down.value.confirmed }, 'command queued in ChirpStack as a downlink');
    });
  }

}

interface Ctx {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  device: DeviceRecord;
  mapping: ChirpStackMapping;
  at: number;
}
