/**
 * Topic grammar of contract v1 (`shared/contracts-v1.md`, "Topics"):
 *   tsunagaru/v1/{type}/{deviceId}/{channel}
 */
export const TOPIC_ROOT = 'tsunagaru/v1';

export const DEVICE_TYPES = ['smart-pole', 'water-meter', 'bs-power', 'ring-node'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const CHANNELS = ['telemetry', 'event', 'state', 'cmd', 'cmd/ack'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Channels a device publishes on; `cmd` is the only one it subscribes to. */
export const DEVICE_PUBLISH_CHANNELS: readonly Channel[] = ['telemetry', 'event', 'state', 'cmd/ack'];

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface ParsedTopic {
  type: DeviceType;
  deviceId: string;
  channel: Channel;
}

export type TopicParseResult = { ok: true; topic: ParsedTopic } | { ok: false; reason: string };

export function isDeviceType(value: string): value is DeviceType {
  return (DEVICE_TYPES as readonly string[]).includes(value);
}

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

export function isValidDeviceId(value: string): boolean {
  return DEVICE_ID_PATTERN.test(value);
}

export function buildTopic(type: DeviceType, deviceId: string, channel: Channel): string {
  if (!isDeviceType(type)) throw new TypeError(`unknown device type "${type}"; expected one of ${DEVICE_TYPES.join(', ')}`);
  if (!isValidDeviceId(deviceId)) throw new TypeError(`invalid deviceId "${deviceId}"; expected ${DEVICE_ID_PATTERN.source}`);
  if (!isChannel(channel)) throw new TypeError(`unknown channel "${channel}"; expected one of ${CHANNELS.join(', ')}`);
  return `${TOPIC_ROOT}/${type}/${deviceId}/${channel}`;
}

/** The prefix under which a device may publish: `tsunagaru/v1/{type}/{deviceId}/`. */
export function devicePrefix(type: DeviceType, deviceId: string): string {
  return `${TOPIC_ROOT}/${type}/${deviceId}/`;
}

/** Subscription filter for everything devices send (used by the ingest service). */
export const ALL_DEVICE_TOPICS = `${TOPIC_ROOT}/+/+/#`;

export function parseTopic(topic: string): TopicParseResult {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) {
    return { ok: false, reason: `topic: must start with "${TOPIC_ROOT}/"` };
  }
  // indexOf rather than split/join: this runs on every message the ingest receives.
  const start = TOPIC_ROOT.length + 1;
  const afterType = topic.indexOf('/', start);
  const afterId = afterType < 0 ? -1 : topic.indexOf('/', afterType + 1);
  if (afterId < 0) return { ok: false, reason: 'topic: expected tsunagaru/v1/{type}/{deviceId}/{channel}' };
  const type = topic.slice(start, afterType);
  const deviceId = topic.slice(afterType + 1, afterId);
  const channel = topic.slice(afterId + 1); // may hold a '/' (cmd/ack)
  if (!isDeviceType(type)) return { ok: false, reason: `topic: unknown device type "${type}"; expected one of ${DEVICE_TYPES.join(', ')}` };
  if (!isValidDeviceId(deviceId)) return { ok: false, reason: `topic: invalid deviceId "${truncate(deviceId)}"; expected ${DEVICE_ID_PATTERN.source}` };
  if (!isChannel(channel)) return { ok: false, reason: `topic: unknown channel "${truncate(channel)}"; expected one of ${CHANNELS.join(', ')}` };
  return { ok: true, topic: { type, deviceId, channel } };
}

function truncate(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
