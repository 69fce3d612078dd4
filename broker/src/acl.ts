import {
  buildTopic,
  DEVICE_PUBLISH_CHANNELS,
  devicePrefix,
  parseTopic,
  TOPIC_ROOT,
  type DeviceType,
} from '@tsunagaru/firmware-contracts';
import {
  ingestCanPublishIntegration,
  ingestCanSubscribeIntegration,
  integrationCanPublish,
  integrationCanSubscribe,
  isIntegrationTopic,
  type IntegrationScope,
} from './integrations/integration-acl.js';

/**
 * Who a connection authenticated as. The secret hash is kept so a later registry change (secret
 * rotated) can be recognised and the session closed.
 */
export type Principal =
  | { kind: 'device'; id: string; type: DeviceType; secretHash: string }
  | { kind: 'service'; username: string; role: 'ingest'; secretHash: string }
  /** A ChirpStack application or Sparkplug edge node(s) (POST /api/v1/integrations): integrations/integration-acl.ts. */
  | { kind: 'integration'; username: string; scope: IntegrationScope; secretHash: string };

/** `onBehalfOf`: a head-end gateway publishing for a device behind it (rate limits count for that device). */
export type AclDecision = { ok: true; onBehalfOf?: string } | { ok: false; reason: 'publish_denied' | 'retain_denied' | 'subscribe_denied'; detail: string };

const ALLOW: AclDecision = { ok: true };
const RETAIN_ONLY_STATE: AclDecision = { ok: false, reason: 'retain_denied', detail: 'only state messages may be retained' };
const OWN_CHANNELS: ReadonlySet<string> = new Set(DEVICE_PUBLISH_CHANNELS);

/**
 * A device's `tsunagaru/v1/{type}/{id}/`, built once per session: the broker keeps one Principal object
 * per authenticated connection, so this is computed at its first publish and then looked up.
 */
const ownPrefixes = new WeakMap<Principal, string>();
function ownPrefixOf(principal: Principal & { kind: 'device' }): string {
  let prefix = ownPrefixes.get(principal);
  if (prefix === undefined) {
    prefix = devicePrefix(principal.type, principal.id);
    ownPrefixes.set(principal, prefix);
  }
  return prefix;
}

export function principalName(principal: Principal): string {
  return principal.kind === 'device' ? principal.id : principal.username;
}

/** What the ACL needs to know of a device a gateway may publish for (from the registry). */
export interface DelegateInfo {
  type: DeviceType;
  /** Attribute `headEnd`: the id of the gateway device that publishes for it. */
  headEnd: string | undefined;
  disabled: boolean;
}

/** Channels a head-end gateway may publish on for the devices behind it (never state: births are the device's). */
export const GATEWAY_CHANNELS: readonly string[] = ['telemetry', 'event'];

/**
 * Publish rights (contract v1, "Topics"):
 * - a device only under its own `tsunagaru/v1/{type}/{id}/` on telemetry, event, state, cmd/ack;
 * - the ingest service only on `tsunagaru/v1/{type}/{id}/cmd` for a well-formed type and id, and on
 *   integration commands (ChirpStack `command/down`, Sparkplug NCMD/DCMD, its retained Sparkplug STATE);
 * - an integration principal only on its own event topics (integrations/integration-acl.ts).
 * - a head-end gateway G (a device) also under `tsunagaru/v1/{type}/{id}/` of every enabled device whose
 *   attribute `headEnd` is G and whose registered type is {type}, on telemetry and event only, never retained
 *   (LPWA meters have no IP session of their own; `lookup` reads the registry).
 * Retain only where the contract's table says "retained: yes" (state). A retained cmd in particular
 * would be redelivered at every reconnect (think `reboot`), so it is refused.
 */
export function canPublish(principal: Principal, topic: string, retain: boolean, lookup?: (deviceId: string) => DelegateInfo | undefined): AclDecision {
  if (principal.kind === 'device') {
    // Fast path for the common case, a device on its own topic: runs for every message, so no
    // parsing, with the same verdict as the full check below (prefix + exactly one own channel).
    const own = ownPrefixOf(principal);
    if (topic.startsWith(own)) {
      const channel = topic.slice(own.length);
      if (OWN_CHANNELS.has(channel)) return retain && channel !== 'state' ? RETAIN_ONLY_STATE : ALLOW;
    }
  }
  if (principal.kind === 'integration') return integrationCanPublish(principal.scope, topic, retain);
  const parsed = parseTopic(topic);
  if (principal.kind === 'device') {
    const prefix = ownPrefixOf(principal);
    if (parsed.ok && parsed.topic.deviceId !== principal.id && lookup) {
      const behind = lookup(parsed.topic.deviceId);
      if (behind && behind.headEnd === principal.id && !behind.disabled && behind.type === parsed.topic.type) {
        if (!GATEWAY_CHANNELS.includes(parsed.topic.channel)) {
          return { ok: false, reason: 'publish_denied', detail: `gateway may publish for ${parsed.topic.deviceId} only on ${GATEWAY_CHANNELS.join(', ')}` };
        }
        if (retain) return { ok: false, reason: 'retain_denied', detail: 'only state messages may be retained' };
        return { ok: true, onBehalfOf: parsed.topic.deviceId };
      }
    }
    if (!parsed.ok || parsed.topic.type !== principal.type || parsed.topic.deviceId !== principal.id) {
      return { ok: false, reason: 'publish_denied', detail: `device may publish only under ${prefix}` };
    }
    if (!DEVICE_PUBLISH_CHANNELS.includes(parsed.topic.channel)) {
      return { ok: false, reason: 'publish_denied', detail: `device may not publish on ${parsed.topic.channel}; allowed: ${DEVICE_PUBLISH_CHANNELS.join(', ')}` };
    }
    if (retain && parsed.topic.channel !== 'state') return RETAIN_ONLY_STATE;
    return ALLOW;
  }
  if (!parsed.ok && isIntegrationTopic(topic)) return ingestCanPublishIntegration(topic, retain);
  if (!parsed.ok || parsed.topic.channel !== 'cmd') {
    return { ok: false, reason: 'publish_denied', detail: `service may publish only to ${TOPIC_ROOT}/{type}/{deviceId}/cmd` };
  }
  if (retain) return { ok: false, reason: 'retain_denied', detail: 'commands must not be retained' };
  return ALLOW;
}

/**
 * Subscribe rights:
 * - a device only to exactly its own `tsunagaru/v1/{type}/{id}/cmd` (no wildcards);
 * - the ingest service to any filter under `tsunagaru/v1/` (e.g. `tsunagaru/v1/#`, `tsunagaru/v1/+/+/#`),
 *   which keeps `$SYS/…` and any non-contract topic out of reach, and to integration events (ChirpStack
 *   `application/+/device/+/event/+`, Sparkplug `spBv1.0/…`);
 * - an integration principal only to its own command topics (integrations/integration-acl.ts).
 */
export function canSubscribe(principal: Principal, filter: string): AclDecision {
  if (principal.kind === 'device') {
    const own = buildTopic(principal.type, principal.id, 'cmd');
    return filter === own ? ALLOW : { ok: false, reason: 'subscribe_denied', detail: `device may subscribe only to ${own}` };
  }
  if (principal.kind === 'integration') return integrationCanSubscribe(principal.scope, filter);
  if (filter.startsWith(`${TOPIC_ROOT}/`)) return ALLOW;
  if (isIntegrationTopic(filter)) return ingestCanSubscribeIntegration(filter);
  return { ok: false, reason: 'subscribe_denied', detail: `service may subscribe only under ${TOPIC_ROOT}/` };
}

/**
 * Which MQTT client ids a principal may use. Any id would let one device connect with another's
 * client id and, by MQTT session takeover [MQTT-3.1.4-2], disconnect it. So a client id must be
 * the username itself or start with `${username}:` (":" is outside the id alphabet, so "a:x" can
 * never belong to device "a-x"). An empty client id gets a random broker-assigned one, which is fine.
 */
export function clientIdAllowed(principal: Principal, clientId: string): boolean {
  if (clientId === '') return true;
  const name = principalName(principal);
  return clientId === name || clientId.startsWith(`${name}:`);
}
