/**
 * Rights of integration principals on our broker, and the ingest's rights on their topics.
 *
 * - A ChirpStack v4 MQTT integration (one per ChirpStack application) publishes its events under
 *   `application/{applicationId}/device/{devEui}/event/{event}` and subscribes to its downlink commands
 *   `application/{applicationId}/device/+/command/down` (ChirpStack docs, integrations/mqtt.md: the default
 *   event and command topics).
 * - A Sparkplug B 3.0 edge node (or every edge node of one group) publishes NBIRTH/NDEATH/NDATA and
 *   DBIRTH/DDEATH/DDATA under `spBv1.0/{groupId}/…`, subscribes to its NCMD/DCMD and to host STATE
 *   messages (Sparkplug 3.0 "Topics and Messages", "Primary Host Application").
 * - The ingest reads both and writes what a host application writes: ChirpStack `command/down`,
 *   Sparkplug NCMD/DCMD, and its own retained host STATE.
 *
 * Topics are checked level by level, never by prefix: a `+` or `#` in a published topic, an empty level
 * or an extra level is refused, so one integration can never publish for another application or group.
 */

import type { IntegrationScope } from '@tsunagaru/firmware-contracts';

/** What an integration principal may do (the registry's type, in firmware-contracts/src/device-record.ts). */
export type { IntegrationScope };

export type IntegrationAclDecision = { ok: true } | { ok: false; reason: 'publish_denied' | 'retain_denied' | 'subscribe_denied'; detail: string };

const ALLOW: IntegrationAclDecision = { ok: true };

/** Sparkplug B namespace token (Sparkplug 3.0 "Namespace Element"). */
export const SPARKPLUG_NAMESPACE = 'spBv1.0';
/** Edge-node verbs an edge node publishes; NCMD/DCMD come from host applications. */
export const SPARKPLUG_EDGE_VERBS: readonly string[] = ['NBIRTH', 'NDEATH', 'NDATA', 'DBIRTH', 'DDEATH', 'DDATA'];
/** ChirpStack event types published by its MQTT integration (chirpstack-docs integrations/events.md). */
export const CHIRPSTACK_EVENTS: readonly string[] = ['up', 'join', 'status', 'ack', 'txack', 'log', 'location', 'integration'];

/**
 * An id as used in a topic level: UTF-8, no MQTT wildcard or separator, no NUL, 1..128 characters.
 * (ChirpStack application ids are UUIDs; Sparkplug ids "MUST be valid UTF-8 strings" without + / #.)
 */
export function isTopicLevelId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 128 && !/[+#/\u0000]/.test(value) && !value.startsWith('$');
}

/** A LoRaWAN DevEUI as ChirpStack v4 writes it: 16 lower- or upper-case hex digits. */
export const DEV_EUI_PATTERN = /^[0-9a-fA-F]{16}$/;

function deny(reason: 'publish_denied' | 'retain_denied' | 'subscribe_denied', detail: string): IntegrationAclDecision {
  return { ok: false, reason, detail };
}

function levels(topic: string): string[] {
  return topic.split('/');
}

const hasWildcard = (level: string) => level.includes('+') || level.includes('#');

/** `application/{app}/device/{devEui}/event/{event}` → its parts, or undefined. */
export function parseChirpStackEventTopic(topic: string): { applicationId: string; devEui: string; event: string } | undefined {
  const l = levels(topic);
  if (l.length !== 6 || l[0] !== 'application' || l[2] !== 'device' || l[4] !== 'event') return undefined;
  const [, applicationId, , devEui, , event] = l as [string, string, string, string, string, string];
  if (!isTopicLevelId(applicationId) || !isTopicLevelId(devEui) || !isTopicLevelId(event)) return undefined;
  return { applicationId, devEui, event };
}

/** `application/{app}/device/{devEui}/command/down` → its parts, or undefined. */
export function parseChirpStackCommandTopic(topic: string): { applicationId: string; devEui: string } | undefined {
  const l = levels(topic);
  if (l.length !== 6 || l[0] !== 'application' || l[2] !== 'device' || l[4] !== 'command' || l[5] !== 'down') return undefined;
  const [, applicationId, , devEui] = l as [string, string, string, string];
  if (!isTopicLevelId(applicationId) || !DEV_EUI_PATTERN.test(devEui)) return undefined;
  return { applicationId, devEui };
}

export interface SparkplugTopic {
  groupId: string;
  verb: string;
  edgeNodeId: string;
  deviceId?: string;
}

/**
 * `spBv1.0/{group}/{verb}/{node}[/{device}]` (device only for DBIRTH/DDEATH/DDATA/DCMD), or undefined.
 * STATE (`spBv1.0/STATE/{hostId}`) is not an edge-node topic: see parseSparkplugStateTopic.
 */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const l = levels(topic);
  if (l[0] !== SPARKPLUG_NAMESPACE || l.length < 4 || l.length > 5) return undefined;
  const [, groupId, verb, edgeNodeId, deviceId] = l as [string, string, string, string, string | undefined];
  if (groupId === 'STATE' || !isTopicLevelId(groupId) || !isTopicLevelId(edgeNodeId)) return undefined;
  const deviceVerb = verb === 'DBIRTH' || verb === 'DDEATH' || verb === 'DDATA' || verb === 'DCMD';
  const nodeVerb = verb === 'NBIRTH' || verb === 'NDEATH' || verb === 'NDATA' || verb === 'NCMD';
  if (deviceVerb) return deviceId !== undefined && isTopicLevelId(deviceId) ? { groupId, verb, edgeNodeId, deviceId } : undefined;
  if (nodeVerb) return deviceId === undefined ? { groupId, verb, edgeNodeId } : undefined;
  return undefined;
}

/** `spBv1.0/STATE/{hostId}` → the host id, or undefined. */
export function parseSparkplugStateTopic(topic: string): string | undefined {
  const l = levels(topic);
  if (l.length !== 3 || l[0] !== SPARKPLUG_NAMESPACE || l[1] !== 'STATE' || !isTopicLevelId(l[2])) return undefined;
  return l[2];
}

/** Publish rights of an integration principal. Nothing it publishes is retained (NDEATH is a will, not retained). */
export function integrationCanPublish(scope: IntegrationScope, topic: string, retain: boolean): IntegrationAclDecision {
  if (scope.type === 'chirpstack') {
    const t = parseChirpStackEventTopic(topic);
    if (!t || t.applicationId !== scope.applicationId) {
      return deny('publish_denied', `ChirpStack integration may publish only application/${scope.applicationId}/device/{devEui}/event/{event}`);
    }
    if (retain) return deny('retain_denied', 'ChirpStack events must not be retained');
    return ALLOW;
  }
  const t = parseSparkplugTopic(topic);
  const node = scope.edgeNodeId ?? '{edgeNodeId}';
  if (!t || t.groupId !== scope.groupId || !SPARKPLUG_EDGE_VERBS.includes(t.verb) || (scope.edgeNodeId !== undefined && t.edgeNodeId !== scope.edgeNodeId)) {
    return deny('publish_denied', `Sparkplug edge node may publish only ${SPARKPLUG_NAMESPACE}/${scope.groupId}/{NBIRTH|NDEATH|NDATA|DBIRTH|DDEATH|DDATA}/${node}[/{deviceId}]`);
  }
  // Sparkplug 3.0: NBIRTH, NDEATH (the will), DBIRTH, DDATA … "retained flag MUST be set to false".
  if (retain) return deny('retain_denied', 'Sparkplug edge-node messages must not be retained');
  return ALLOW;
}

/** Subscribe rights of an integration principal: exactly its own command topics, and (Sparkplug) host STATE. */
export function integrationCanSubscribe(scope: IntegrationScope, filter: string): IntegrationAclDecision {
  if (scope.type === 'chirpstack') {
    const own = `application/${scope.applicationId}/device/+/command/down`;
    if (filter === own) return ALLOW;
    // One device's commands: the same filter with a concrete DevEUI.
    const t = parseChirpStackCommandTopic(filter);
    if (t && t.applicationId === scope.applicationId) return ALLOW;
    return deny('subscribe_denied', `ChirpStack integration may subscribe only to ${own}`);
  }
  const l = levels(filter);
  // A primary host's STATE: spBv1.0/STATE/{hostId} or spBv1.0/STATE/+ (Sparkplug 3.0 edge-node rules).
  if (l.length === 3 && l[0] === SPARKPLUG_NAMESPACE && l[1] === 'STATE' && (l[2] === '+' || isTopicLevelId(l[2]))) return ALLOW;
  const node = scope.edgeNodeId;
  const ok =
    l[0] === SPARKPLUG_NAMESPACE &&
    l[1] === scope.groupId &&
    (l[2] === 'NCMD' || l[2] === 'DCMD') &&
    l[3] !== undefined &&
    (node === undefined ? l[3] === '+' || isTopicLevelId(l[3]) : l[3] === node) &&
    // NCMD: exactly the node (or node/#, as the Eclipse Tahu client subscribes); DCMD: node/+, node/{device} or node/#.
    (l.length === 4 || (l.length === 5 && (l[4] === '#' || (l[2] === 'DCMD' && (l[4] === '+' || isTopicLevelId(l[4]))))));
  if (ok) return ALLOW;
  return deny('subscribe_denied', `Sparkplug edge node may subscribe only to ${SPARKPLUG_NAMESPACE}/${scope.groupId}/NCMD/${node ?? '{edgeNodeId}'}, …/DCMD/… and ${SPARKPLUG_NAMESPACE}/STATE/{hostId}`);
}

/** Whether a topic or filter belongs to an integration namespace (so the ingest's rules below apply). */
export function isIntegrationTopic(topic: string): boolean {
  return topic.startsWith('application/') || topic.startsWith(`${SPARKPLUG_NAMESPACE}/`);
}

/**
 * What the ingest (a host application) may publish on integration topics: ChirpStack downlinks,
 * Sparkplug NCMD/DCMD (never retained), and its own STATE (retained, Sparkplug 3.0 requires it).
 */
export function ingestCanPublishIntegration(topic: string, retain: boolean): IntegrationAclDecision {
  if (parseChirpStackCommandTopic(topic)) return retain ? deny('retain_denied', 'downlink commands must not be retained') : ALLOW;
  if (parseSparkplugStateTopic(topic)) return ALLOW;
  const sp = parseSparkplugTopic(topic);
  if (sp && (sp.verb === 'NCMD' || sp.verb === 'DCMD')) return retain ? deny('retain_denied', 'Sparkplug commands must not be retained') : ALLOW;
  return deny('publish_denied', `service may publish only application/{app}/device/{devEui}/command/down, ${SPARKPLUG_NAMESPACE}/{group}/NCMD|DCMD/… and ${SPARKPLUG_NAMESPACE}/STATE/{hostId}`);
}

/** What the ingest may subscribe to on integration topics: ChirpStack events and the whole Sparkplug namespace. */
export function ingestCanSubscribeIntegration(filter: string): IntegrationAclDecision {
  const l = levels(filter);
  if (l[0] === SPARKPLUG_NAMESPACE) return ALLOW;
  const chirpstack = l.length === 6 && l[0] === 'application' && l[2] === 'device' && l[4] === 'event' && !hasWildcard(l[0]!) && (l[1] === '+' || isTopicLevelId(l[1]));
  if (chirpstack) return ALLOW;
  return deny('subscribe_denied', 'service may subscribe to application/{app}/device/+/event/+ and spBv1.0/…');
}
