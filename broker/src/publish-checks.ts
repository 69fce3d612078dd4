/**
 * What a PUBLISH must pass before aedes routes and acknowledges it: an ordered list of named steps
 * (style: aedes' handlers, the ingest's dispatch/steps.ts), each citing the MQTT clause or contract
 * section it enforces. A step lets the message go on (undefined), authorises it outright ('pass'),
 * refuses it (a denial), or waits for something (a promise of one of these).
 *
 * A refused PUBLISH closes the connection: MQTT 3.1.1 has no negative PUBACK, and a server that does not
 * authorise a PUBLISH "MUST either make a positive acknowledgement … or close the Network Connection"
 * [MQTT-3.3.5-2]; the device sends it again later, so nothing it was told was taken is lost.
 *
 * The steps run per message: they are defined once here, never as closures per call (tsx's keepNames
 * turns each closure into a __name call; ~6 % of the broker's CPU under fan-in).
 */
import type { Client, PublishPacket } from 'aedes';
import { parseTopic } from '@tsunagaru/firmware-contracts';
import { canPublish, type DelegateInfo, type Principal } from './acl.js';
import type { BrokerCluster } from './cluster.js';
import type { DenialReason } from './denials.js';
import type { DeviceSessions } from './device-sessions.js';
import { payloadLength } from './connect-checks.js';
import type { PublishRateLimiter } from './throttle.js';

/** One PUBLISH on its way through the steps. */
export interface PublishCheck {
  client: Client | null;
  packet: PublishPacket;
  /** aedes' authorizePublish callback: nothing (authorised) or the error that closes the connection. */
  callback: (error?: Error | null) => void;
  /** Who published it (the session's principal; for a will recovered from a dead node, its device). */
  principal: Principal | undefined;
  /** Set by `withinRights`: the device a head-end gateway publishes for, when it does. */
  onBehalfOf?: string | undefined;
  size: number;
}

export interface PublishRefusal {
  reason: DenialReason;
  detail: string;
  /**
   * Not a denial to count and log as one (the cluster cannot take it now, a will superseded): a
   * condition, not the client's fault. Logged as this event instead.
   */
  quiet?: { level: 'debug' | 'info'; event: string; message: string };
}

export type PublishVerdict = undefined | 'pass' | PublishRefusal;

export interface PublishCheckDeps {
  principals: WeakMap<Client, Principal>;
  cluster: BrokerCluster | undefined;
  maxPayloadBytes: number;
  publishLimiter: PublishRateLimiter | undefined;
  /** Devices behind a head-end gateway (attribute `headEnd`), for the ACL. */
  delegateOf: (deviceId: string) => DelegateInfo | undefined;
  /** The principal behind a will stored by another (dead) node, looked up by its client id. */
  recoveredWillPrincipal: (packet: PublishPacket) => Principal | undefined;
  /** Where the session of a will's client now lives (cluster), null when nowhere. */
  sessions: () => DeviceSessions;
  beforePuback: ((topic: string, payload: Buffer, qos: 0 | 1 | 2) => Promise<void>) | undefined;
  /** Ends a check: authorised (null) or refused (logged, then the connection closed). */
  settle: (c: PublishCheck, refusal: PublishRefusal | null) => void;
}

export type PublishStep = (c: PublishCheck, deps: PublishCheckDeps) => PublishVerdict | Promise<PublishVerdict>;

const refused = (reason: DenialReason, detail: string, quiet?: PublishRefusal['quiet']): PublishRefusal => (quiet ? { reason, detail, quiet } : { reason, detail });

/**
 * Cluster: a dead node's will, published by this node's sweep (aedes passes no client), obeys the rights
 * of the device that set it, as at its CONNECT [MQTT-3.1.2-8]; then nothing else applies to it.
 */
export const recoveredWill: PublishStep = (c, deps) => {
  if (c.principal || c.client !== null) return undefined;
  const owner = deps.recoveredWillPrincipal(c.packet);
  if (!owner) return undefined;
  return canPublish(owner, c.packet.topic, c.packet.retain ?? false).ok ? 'pass' : refused('will_denied', "recovered will outside its device's rights");
};

/** Only an authenticated session publishes [MQTT-3.3.5-2]. */
export const authenticated: PublishStep = (c) => (c.principal ? undefined : refused('publish_denied', 'no authenticated session'));

/**
 * Cluster: a will at the close of a session that another node has taken over ($SYS …/new/clients) is
 * dropped, or its death would arrive after the device's new birth there (contract v1 "State": a death
 * older than the latest birth is a late will); a will goes on without the cluster-health step.
 */
export const clusterWill: PublishStep = (c, deps) => {
  const { cluster } = deps;
  if (!cluster || !c.client || c.packet !== (c.client as unknown as { will?: unknown }).will) return undefined;
  return cluster.sessionNode(c.client.id).then(
    (node) =>
      node === null || node === cluster.brokerId
        ? undefined
        : refused('will_denied', `session taken over on ${node}`, { level: 'info', event: 'mqtt_will_discarded', message: `will of ${c.client!.id} discarded: session taken over on ${node}` }),
    () => undefined,
  );
};

/**
 * Cluster without Redis: aedes sends the PUBACK before it routes through Redis, so acknowledging now could
 * lose the message [MQTT-4.3.2-2]. Closing without a PUBACK makes the device send it again later.
 */
export const clusterHealthy: PublishStep = (c, deps) => {
  if (!deps.cluster || deps.cluster.healthy()) return undefined;
  if (c.client && c.packet === (c.client as unknown as { will?: unknown }).will) return undefined;
  return refused('publish_denied', 'cluster unavailable: Redis unreachable', { level: 'debug', event: 'mqtt_publish_refused_redis_down', message: 'publish refused: Redis unreachable' });
};

/** contracts-v1 "Topics": a payload is at most 64 KiB (maxPayloadBytes). */
export const payloadSize: PublishStep = (c, deps) => (c.size > deps.maxPayloadBytes ? refused('payload_too_large', `${c.size} bytes > ${deps.maxPayloadBytes}`) : undefined);

/**
 * contracts-v1 "Topics": a device publishes only under its own prefix (a head-end gateway for its
 * meters), retained only its state; a service only commands (acl.ts).
 */
export const withinRights: PublishStep = (c, deps) => {
  const decision = canPublish(c.principal!, c.packet.topic, c.packet.retain ?? false, deps.delegateOf);
  if (!decision.ok) return refused(decision.reason, decision.detail);
  c.onBehalfOf = decision.onBehalfOf;
  return undefined;
};

/** broker/README.md "Limits": messages and bytes per second per device (a gateway's meters each on their own). */
export const withinRate: PublishStep = (c, deps) => {
  if (c.principal!.kind !== 'device' || !deps.publishLimiter || !c.client) return undefined;
  const rate = deps.publishLimiter.take(c.onBehalfOf ?? c.principal!.id, c.size);
  return rate.ok ? undefined : refused('publish_rate_exceeded', rate.detail);
};

/**
 * broker/README.md "Sessions": a service publishes only commands (the ACL allows nothing else); before
 * one is queued, room is made in the target device's session queues (device-sessions.ts). Never on the
 * telemetry path.
 */
export const roomForCommand: PublishStep = (c, deps) => {
  if (c.principal!.kind === 'device' || !c.client || c.packet.qos === 0) return undefined;
  const target = parseTopic(c.packet.topic);
  return target.ok ? deps.sessions().beforeCommand(target.topic.deviceId).then(() => undefined) : undefined;
};

/** Cluster: into Redis before the PUBACK, so a node killed before routing it loses nothing [MQTT-4.3.2-2] (cluster.ts). */
export const heldInCluster: PublishStep = (c, deps) => {
  if (!deps.cluster || !c.client || c.packet.qos === 0) return undefined;
  return deps.cluster.holdInflight(c.packet).then(() => undefined);
};

/**
 * The embedded ingest (`npm start`): the message is fsync'd in its journal before aedes writes the
 * PUBACK, which then means "taken" [MQTT-4.3.2-2] (ingest/src/intake/embedded-tap.ts).
 */
export const journalled: PublishStep = (c, deps) => {
  if (!deps.beforePuback) return undefined;
  const payload = typeof c.packet.payload === 'string' ? Buffer.from(c.packet.payload) : c.packet.payload;
  return deps.beforePuback(c.packet.topic, payload, c.packet.qos).then(() => undefined);
};

/** In order: what refuses cheapest and most often first; the steps that wait last. */
export const PUBLISH_STEPS: ReadonlyArray<readonly [string, PublishStep]> = [
  ['recoveredWill', recoveredWill],
  ['authenticated', authenticated],
  ['clusterWill', clusterWill],
  ['clusterHealthy', clusterHealthy],
  ['payloadSize', payloadSize],
  ['withinRights', withinRights],
  ['withinRate', withinRate],
  ['roomForCommand', roomForCommand],
  ['heldInCluster', heldInCluster],
  ['journalled', journalled],
];

/**
 * aedes' authorizePublish: runs the steps in order and settles the PUBLISH (deps.settle) at the first
 * refusal, or once every step passed; when a step's wait fails (the journal refusing, Redis failing) the
 * error goes to aedes, which closes the connection, and nothing is acknowledged.
 */
export function checkPublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void, deps: PublishCheckDeps): void {
  runPublishSteps({ client, packet, callback, principal: client ? deps.principals.get(client) : undefined, size: payloadLength(packet.payload) }, deps, 0);
}

function runPublishSteps(c: PublishCheck, deps: PublishCheckDeps, from: number): void {
  for (let i = from; i < PUBLISH_STEPS.length; i++) {
    const verdict = PUBLISH_STEPS[i]![1](c, deps);
    if (verdict === undefined) continue;
    if (verdict === 'pass') return deps.settle(c, null);
    if (verdict instanceof Promise) {
      verdict.then(
        (v) => (v === undefined ? runPublishSteps(c, deps, i + 1) : deps.settle(c, v === 'pass' ? null : v)),
        (err: Error) => c.callback(err),
      );
      return;
    }
    return deps.settle(c, verdict);
  }
  deps.settle(c, null);
}
