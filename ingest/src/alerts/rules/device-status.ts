import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { RuleContext } from './context.js';
import type { WakeAt } from '../due-devices.js';

/** One device's last message, as the silence rule needs it. */
export interface LastSeen {
  deviceId: string;
  type: DeviceType;
  /** When the ingest last received any message from it (epoch ms), null if never. */
  lastSeen: number | null;
  /** Sample interval from its birth, s. */
  sampleSec: number | null;
  online: boolean;
}

/** Where "when did we last hear from each device" comes from: device status (alerting.ts lastSeenFromStatus). */
export interface LastSeenSource {
  list(): Promise<readonly LastSeen[]>;
  /**
   * Tells `listener` of each device whose last message, status or interval changed, once stored, so the
   * clock needs to judge only those again (alerts/due-devices.ts). Without it, every device is judged at
   * every evaluation.
   */
  onChange?(listener: (device: LastSeen) => void): () => void;
}

export function onDeviceState(ctx: RuleContext, deviceId: string, type: DeviceType, online: boolean): void {
  if (!ctx.config.offline.types.includes(type)) return;
  ctx.report({ deviceId, rule: 'device-offline', object: null, active: !online, severity: ctx.config.rules['device-offline'].severity, deviceType: type, message: 'device offline: its MQTT session ended (death message)' });
}

/** Any message proves the device is talking. */
export function onDeviceHeard(ctx: RuleContext, deviceId: string, type: DeviceType): void {
  ctx.report({ deviceId, rule: 'device-silent', object: null, active: false, severity: 'minor', deviceType: type, message: '' });
}

/**
 * How long a device has been silent, as the alert says it: to the minute for the first hour, to the quarter
 * hour for the first day, to the hour after. The alert's value and text change only when this does, so an
 * alert of a device silent for hours is not rewritten at every evaluation (130,000 meters silent at once
 * were 130,000 alert updates every 5 s, saved every 30 s). `seconds`: the silence, rounded down to that step.
 */
export function silenceFigure(silentMs: number): { seconds: number; text: string; nextMs: number } {
  const min = Math.max(0, Math.floor(silentMs / 60_000));
  if (min < 60) return { seconds: min * 60, text: `${min} min`, nextMs: (min + 1) * 60_000 };
  if (min < 24 * 60) {
    const q = Math.floor(min / 15) * 15;
    return { seconds: q * 60, text: q % 60 === 0 ? `${q / 60} h` : `${Math.floor(q / 60)} h ${q % 60} min`, nextMs: (q + 15) * 60_000 };
  }
  const h = Math.floor(min / 60);
  return { seconds: h * 3600, text: h % 24 === 0 ? `${h / 24} d` : `${Math.floor(h / 24)} d ${h % 24} h`, nextMs: (h + 1) * 3_600_000 };
}

/**
 * Clock-driven: silent for k × its own sample interval. A device known offline is the offline rule's.
 * `wake` hears when each device's verdict next changes with the clock alone (the limit, the figure's next
 * step), so the engine need not judge it before then (alerts/due-devices.ts).
 */
export function evaluateSilence(ctx: RuleContext, devices: readonly LastSeen[], wake: WakeAt = () => {}): void {
  const { k, minSilenceSec, types } = ctx.config.silence;
  const severity = ctx.config.rules['device-silent'].severity;
  // One text per silence and interval, shared by the devices it describes: a city's meters falling silent
  // together are 130,000 alerts with the same words, and each its own copy held ~20 MB (the condition's
  // and the alert's) after every change of the figure.
  const texts = new Map<number, Map<number, string>>();
  const textOf = (silence: { seconds: number; text: string }, sampleSec: number): string => {
    let bySilence = texts.get(sampleSec);
    if (!bySilence) texts.set(sampleSec, (bySilence = new Map()));
    let text = bySilence.get(silence.seconds);
    if (text === undefined) bySilence.set(silence.seconds, (text = `silent for ${silence.text} (expected a message every ${sampleSec} s; limit ${k} ×)`));
    return text;
  };
  for (const d of devices) {
    if (!types.includes(d.type) || d.lastSeen === null || d.sampleSec === null || d.sampleSec <= 0) continue;
    const limitMs = Math.max(k * d.sampleSec, minSilenceSec) * 1000;
    const silentMs = ctx.now - d.lastSeen;
    const coveredByOffline = !d.online && ctx.config.offline.types.includes(d.type);
    const active = silentMs > limitMs && !coveredByOffline;
    // A condition that is not active carries no text (the lifecycle keeps the last active one).
    const silence = active ? silenceFigure(silentMs) : undefined;
    // Judged again at the figure's next step, or once the silence passes its limit. One the offline rule
    // covers waits for its status to change (a message or a birth, which the engine hears of).
    if (silence) wake(d.deviceId, d.lastSeen + silence.nextMs);
    else if (!coveredByOffline) wake(d.deviceId, d.lastSeen + limitMs);
    ctx.report({
      deviceId: d.deviceId, rule: 'device-silent', object: null, active, severity, deviceType: d.type,
      value: silence ? silence.seconds : Math.round(silentMs / 1000),
      message: silence ? textOf(silence, d.sampleSec) : '',
    });
  }
}
