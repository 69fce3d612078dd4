import type { Logger } from 'pino';
import { clip, type ConnectionLog } from './connection-log.js';

/**
 * Why the broker refused something. Stable strings: dashboards and alerts match on them.
 * Connection-time: missing_credentials, unknown_username, bad_secret, device_disabled,
 * client_id_rejected, will_denied, registry_error. After connect: publish_denied,
 * subscribe_denied, payload_too_large, retain_denied. On the socket, before MQTT parsing:
 * packet_too_large. Throttles: auth_throttled (a locked identity or address, refused before any
 * secret is checked), publish_rate_exceeded, too_many_connections. Client certificates:
 * certificate_mismatch (CN ≠ username).
 */
export const DENIAL_REASONS = [
  'missing_credentials',
  'unknown_username',
  'bad_secret',
  'device_disabled',
  'client_id_rejected',
  'will_denied',
  'registry_error',
  'publish_denied',
  'retain_denied',
  'subscribe_denied',
  'payload_too_large',
  'packet_too_large',
  'auth_throttled',
  'publish_rate_exceeded',
  'too_many_connections',
  'certificate_mismatch',
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** Why a live session was closed by the broker after a registry change. */
export const REVOCATION_REASONS = ['device_disabled', 'device_removed', 'secret_rotated', 'service_removed'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface DenialContext {
  clientId?: string | undefined;
  username?: string | undefined;
  topic?: string | undefined;
  remoteAddress?: string | undefined;
  /** Human explanation, e.g. "topic is outside tsunagaru/v1/smart-pole/pole-01/". Never a secret. */
  detail?: string | undefined;
}

/** Reasons that come in floods: counted every time, logged once per interval per (reason, who). */
const FLOOD_REASONS: ReadonlySet<DenialReason> = new Set(['auth_throttled', 'publish_rate_exceeded', 'too_many_connections']);
const FLOOD_LOG_INTERVAL_MS = 10_000;
const MAX_QUIET_KEYS = 10_000;

/**
 * Logs each denial exactly once as a structured line and counts it. The hooks call `deny` at the
 * single place they refuse; the disconnect aedes performs afterwards is not logged as a denial.
 * Passwords never reach this object. Every denial is counted; its line goes through the connection
 * log's budget for the source address (connection-log.ts), so a flood is counted in full but cannot
 * fill the disk.
 */
export class DenialLog {
  private readonly denials = Object.fromEntries(DENIAL_REASONS.map((r) => [r, 0])) as Record<DenialReason, number>;
  private readonly revocations = Object.fromEntries(REVOCATION_REASONS.map((r) => [r, 0])) as Record<RevocationReason, number>;

  /** Per (flood reason, who): when the last line was written and how many were counted since. */
  private readonly quiet = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: ConnectionLog,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  deny(reason: DenialReason, ctx: DenialContext): void {
    this.denials[reason]++;
    let suppressed: number | undefined;
    if (FLOOD_REASONS.has(reason)) {
      // A flood (a locked-out attacker retrying, a device over its rate) is counted in full but logged
      // at most once per FLOOD_LOG_INTERVAL_MS per (reason, who), with how many were folded in.
      const key = `${reason}|${ctx.username ?? ''}|${ctx.remoteAddress ?? ''}`;
      const t = this.now();
      const q = this.quiet.get(key);
      if (q && t - q.at < FLOOD_LOG_INTERVAL_MS) {
        q.suppressed++;
        return;
      }
      suppressed = q?.suppressed ?? 0;
      this.quiet.delete(key);
      if (this.quiet.size >= MAX_QUIET_KEYS) this.quiet.delete(this.quiet.keys().next().value!);
      this.quiet.set(key, { at: t, suppressed: 0 });
    }
    this.log.write(
      'warn',
      ctx.remoteAddress,
      {
        event: 'mqtt_denied',
        reason,
        ...(suppressed ? { suppressed } : {}),
        clientId: ctx.clientId,
        username: ctx.username,
        topic: ctx.topic,
        remoteAddress: ctx.remoteAddress,
        detail: ctx.detail,
      },
      `mqtt denied: ${reason}`,
    );
  }

  revoke(reason: RevocationReason, ctx: DenialContext): void {
    this.revocations[reason]++;
    this.logger.warn(
      { event: 'mqtt_session_revoked', reason, clientId: clip(ctx.clientId), username: clip(ctx.username), remoteAddress: ctx.remoteAddress },
      `mqtt session revoked: ${reason}`,
    );
  }

  denialCounts(): Record<DenialReason, number> {
    return { ...this.denials };
  }

  revocationCounts(): Record<RevocationReason, number> {
    return { ...this.revocations };
  }
}
