import { validateMessage, type Command, type CommandAck, type DeviceType } from '@tsunagaru/firmware-contracts';
import { ackPayload } from './payloads.js';

/** What a command handler reports back; becomes the CommandAck (contract v1, "Commands"). */
export interface CommandOutcome {
  ok: boolean;
  result?: Record<string, unknown>;
  /** Required when ok is false. */
  error?: string;
  /** Runs once the ack is acknowledged by the broker (e.g. a reboot that must not outrun its ack). */
  afterAck?: () => void | Promise<void>;
}

export interface CommandContext {
  deviceId: string;
  type: DeviceType;
  boot: number;
  /** Epoch ms, from the session clock. */
  now: number;
}

/**
 * Application hook for commands. Return undefined to fall back to the built-in behaviour (ping answers
 * ok; anything else is refused as unsupported). A thrown error becomes `ok: false` with its message.
 */
export type CommandHandler = (command: Command, ctx: CommandContext) => CommandOutcome | undefined | Promise<CommandOutcome | undefined>;

/** QoS 1 may redeliver a command whose PUBACK was lost; remember this many recent acks to avoid running it twice. */
const RECENT_COMMANDS = 64;

function builtIn(command: Command, ctx: CommandContext): CommandOutcome {
  if (command.name === 'ping') return { ok: true, result: { boot: ctx.boot } };
  return { ok: false, error: `command "${command.name}" is not supported by ${ctx.deviceId} yet` };
}

/** Best effort: a command that failed validation can still be acked if it carries a usable cmdId. */
function extractCmdId(payload: Buffer): string | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as { cmdId?: unknown };
    const id = value.cmdId;
    return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Turns raw `cmd` messages into acks: validate, reject expired, de-duplicate, run the handler. */
export class CommandDispatcher {
  private handler: CommandHandler | undefined;
  private readonly recent = new Map<string, Promise<CommandAck>>();

  setHandler(handler: CommandHandler | undefined): void {
    this.handler = handler;
  }

  /** The ack to publish, or undefined when the message cannot be answered (no cmdId) — the reason is returned instead. */
  async dispatch(topic: string, payload: Buffer, ctx: CommandContext): Promise<{ ack: CommandAck; afterAck?: () => void | Promise<void> } | { ack?: undefined; dropped: string }> {
    const checked = validateMessage(topic, payload);
    if (!checked.ok || checked.message.channel !== 'cmd') {
      const reason = checked.ok ? `unexpected channel ${checked.message.channel}` : checked.reason;
      const cmdId = extractCmdId(payload);
      if (cmdId === undefined) return { dropped: `invalid command without a usable cmdId: ${reason}` };
      return { ack: ackPayload(cmdId, ctx.now, { ok: false, error: `invalid command: ${reason}`.slice(0, 1024) }) };
    }
    const command = checked.message.payload;
    const seen = this.recent.get(command.cmdId);
    if (seen) return { ack: await seen };
    const running = this.run(command, ctx);
    this.remember(
      command.cmdId,
      running.then((r) => r.ack),
    );
    return running;
  }

  private async run(command: Command, ctx: CommandContext): Promise<{ ack: CommandAck; afterAck?: () => void | Promise<void> }> {
    if (command.expiresTs !== undefined && ctx.now > command.expiresTs) {
      return { ack: ackPayload(command.cmdId, ctx.now, { ok: false, error: `expired at ${new Date(command.expiresTs).toISOString()}` }) };
    }
    let outcome: CommandOutcome;
    try {
      outcome = (await this.handler?.(command, ctx)) ?? builtIn(command, ctx);
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (!outcome.ok && !outcome.error) outcome = { ...outcome, error: 'failed' };
    const { afterAck, ...fields } = outcome;
    const ack = ackPayload(command.cmdId, ctx.now, { ...fields, ...(fields.error ? { error: fields.error.slice(0, 1024) } : {}) });
    return { ack, ...(afterAck ? { afterAck } : {}) };
  }

  private remember(cmdId: string, ack: Promise<CommandAck>): void {
    this.recent.set(cmdId, ack);
    if (this.recent.size > RECENT_COMMANDS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
