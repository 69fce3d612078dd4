/**
 * What a CONNECT must pass before aedes admits the session: an ordered list of named steps (style:
 * aedes' connectActions, the ingest's dispatch/steps.ts), each citing the MQTT clause or contract section
 * it enforces. A step lets the CONNECT go on (undefined) or refuses it with a denial reason and the
 * CONNACK return code [MQTT-3.2.2-3]; only the secret's check waits.
 */
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import { canPublish, clientIdAllowed, principalName, type Principal } from './acl.js';
import { authenticateCertificate, authenticateCredentials, CONNACK, type AuthOutcome } from './auth.js';
import type { BrokerCluster } from './cluster.js';
import type { DenialContext, DenialLog, DenialReason } from './denials.js';
import type { PeerCertificate } from './listeners.js';
import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { SecretCheck } from './secret-check.js';
import type { AuthThrottle } from './throttle.js';
import { BrokerError } from './errors.js';

/** Refusals that look like credential guessing and count towards a lockout. */
const GUESSING: ReadonlySet<DenialReason> = new Set(['missing_credentials', 'unknown_username', 'bad_secret']);

/** What CONNECT carried that authenticate needs: the raw client id (aedes may replace an empty one) and the will. */
export interface ConnectInfo {
  clientId: string;
  will: ConnectPacket['will'];
}

export interface LoginDeps {
  registry: DeviceRegistry;
  denials: DenialLog;
  throttle: AuthThrottle | undefined;
  secrets: SecretCheck;
  cluster: BrokerCluster | undefined;
  bindClientId: boolean;
  maxClientIdLength: number;
  maxPayloadBytes: number;
  connectInfo: WeakMap<Client, ConnectInfo>;
  principals: WeakMap<Client, Principal>;
  contextOf(client: Client | null): DenialContext;
  remoteAddressOf(client: Client | null): string | undefined;
  peerCertificateOf(client: Client): PeerCertificate | undefined;
  onRegistryError(err: unknown, client: Client): void;
}

/** A CONNECT refused: aedes answers `returnCode` in the CONNACK [MQTT-3.2.2-3] and closes the connection. */
export function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new BrokerError('BROKER_ERR_CONNECT_REFUSED', message), { returnCode: returnCode as AuthenticateError['returnCode'] });
}

export function payloadLength(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

/** One CONNECT on its way through the steps. */
export interface ConnectCheck {
  client: Client;
  username: string | undefined;
  password: Buffer | undefined;
  info: ConnectInfo | undefined;
  clientId: string;
  address: string | undefined;
  /** A client certificate the TLS layer verified: never subject to the password lockouts (it is not a guessable secret). */
  viaCertificate: boolean;
  certificateName: string | undefined;
  /** Who the client says it is: its username, else its client id (the lockouts count per this). */
  identity: string;
  /** Set by `identity` once the secret or certificate is accepted. */
  principal?: Principal;
}

export interface ConnectRefusal {
  reason: DenialReason;
  returnCode: number;
  detail?: string;
  topic?: string;
  /** Not a denial to count and log as one (the cluster cannot take a session now): a condition, not the client's fault. */
  quiet?: boolean;
}

export type ConnectStep = (c: ConnectCheck, deps: LoginDeps) => ConnectRefusal | undefined | Promise<ConnectRefusal | undefined>;

/** A cluster without Redis could neither restore nor store a session: code 3, server unavailable, and the device retries [MQTT-3.2.2-3]. */
export const clusterHealthy: ConnectStep = (_c, deps) =>
  deps.cluster && !deps.cluster.healthy() ? { reason: 'registry_error', returnCode: CONNACK.SERVER_UNAVAILABLE, detail: 'cluster unavailable: Redis unreachable', quiet: true } : undefined;

/**
 * A client id longer than maxClientIdLength is refused (code 2, identifier rejected [MQTT-3.1.3-9])
 * before anything is logged or looked up; a server must take 1 to 23 characters [MQTT-3.1.3-5].
 */
export const clientIdLength: ConnectStep = (c, deps) =>
  c.clientId.length > deps.maxClientIdLength ? { reason: 'client_id_rejected', returnCode: 2, detail: `client id of ${c.clientId.length} characters; at most ${deps.maxClientIdLength}` } : undefined;

/**
 * broker/README.md "Lockouts": after repeated failed logins the (identity, address) pair and the address
 * are refused for a while, before any scrypt is spent; code 3 (server unavailable) makes a real device
 * retry later [MQTT-3.2.2-3].
 */
export const notLockedOut: ConnectStep = (c, deps) => {
  if (c.viaCertificate) return undefined;
  const verdict = deps.throttle?.check(c.identity, c.address) ?? { ok: true as const };
  if (verdict.ok) return undefined;
  const who = verdict.scope === 'pair' ? 'identity locked out from this address' : verdict.scope === 'address' ? 'address locked out' : 'too many logins in progress from this address';
  return { reason: 'auth_throttled', returnCode: CONNACK.SERVER_UNAVAILABLE, detail: `${who} for ${Math.ceil(verdict.retryAfterMs / 1000)} s after repeated failed logins` };
};

/**
 * Who it is [MQTT-3.1.4] (the server's own authentication): a verified client certificate (CN = device
 * id), or the username and secret, checked through SecretCheck (a recently verified secret fast, else
 * bounded scrypt). Refused: code 4 (bad username or password) or 5 (not authorised) [MQTT-3.2.2-3]; a
 * refusal that looks like guessing counts towards the lockouts.
 */
export const identity: ConnectStep = (c, deps) => {
  const { throttle } = deps;
  const verify = (id: string | undefined, secret: string, storedHash: string) => deps.secrets.verify(id, secret, storedHash, () => !c.client.closed);
  const attempt: Promise<AuthOutcome> = c.viaCertificate
    ? Promise.resolve(authenticateCertificate(deps.registry, c.certificateName!, c.username))
    : (throttle?.begin(c.address), authenticateCredentials(deps.registry, c.username, c.password, verify).finally(() => throttle?.end(c.address)));
  return attempt.then(
    (outcome): ConnectRefusal | undefined => {
      if (!outcome.ok) {
        if (!c.viaCertificate && GUESSING.has(outcome.reason)) throttle?.failed(c.identity, c.address);
        return { reason: outcome.reason, returnCode: outcome.returnCode, ...(outcome.detail ? { detail: outcome.detail } : {}) };
      }
      if (!c.viaCertificate) throttle?.succeeded(c.identity, c.address);
      c.principal = outcome.principal;
      return undefined;
    },
    (err: unknown): ConnectRefusal => {
      deps.onRegistryError(err, c.client);
      return { reason: 'registry_error', returnCode: CONNACK.SERVER_UNAVAILABLE };
    },
  );
};

/**
 * contracts-v1 "Broker": a client id is the username, or starts with `username:`, so nobody can take over
 * another device's session by reusing its id (code 2, identifier rejected [MQTT-3.1.3-9]).
 */
export const clientIdBound: ConnectStep = (c, deps) => {
  if (!deps.bindClientId || clientIdAllowed(c.principal!, c.clientId)) return undefined;
  const name = principalName(c.principal!);
  return { reason: 'client_id_rejected', returnCode: 2, detail: `client id must be "${name}" or start with "${name}:"` };
};

/**
 * The will is published by the broker on the device's behalf [MQTT-3.1.2-8] (contracts-v1 "State": the
 * death), so it must obey the same publish rights and size; refusing it here tells the device at once
 * (code 5) instead of silently dropping its death later. aedes also checks it at close (publish-checks.ts).
 */
export const willWithinRights: ConnectStep = (c, deps) => {
  const will = c.info?.will;
  if (!will) return undefined;
  const size = payloadLength(will.payload);
  if (size > deps.maxPayloadBytes) return { reason: 'will_denied', returnCode: CONNACK.NOT_AUTHORIZED, topic: will.topic, detail: `will payload ${size} bytes > ${deps.maxPayloadBytes}` };
  const decision = canPublish(c.principal!, will.topic, will.retain ?? false);
  return decision.ok ? undefined : { reason: 'will_denied', returnCode: CONNACK.NOT_AUTHORIZED, topic: will.topic, detail: decision.detail };
};

/** In order, cheapest first: nothing is looked up or logged for what the cheap steps refuse; the one that waits (scrypt) runs once. */
export const CONNECT_STEPS: ReadonlyArray<readonly [string, ConnectStep]> = [
  ['clusterHealthy', clusterHealthy],
  ['clientIdLength', clientIdLength],
  ['notLockedOut', notLockedOut],
  ['identity', identity],
  ['clientIdBound', clientIdBound],
  ['willWithinRights', willWithinRights],
];

/** aedes' authenticate hook: the CONNECT goes through CONNECT_STEPS in order; the first refusal ends it. */
export function createAuthenticate(deps: LoginDeps) {
  const settle = (c: ConnectCheck, refusal: ConnectRefusal | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    if (refusal) {
      if (!refusal.quiet) deps.denials.deny(refusal.reason, { ...deps.contextOf(c.client), username: c.username, ...(refusal.topic ? { topic: refusal.topic } : {}), ...(refusal.detail ? { detail: refusal.detail } : {}) });
      return done(authError(refusal.returnCode, refusal.quiet ? (refusal.detail ?? refusal.reason) : refusal.reason), false);
    }
    // Cluster: before aedes announces this session to the other nodes, so they see it moved.
    if (c.info?.clientId) deps.cluster?.sessionStarted(c.info.clientId);
    deps.principals.set(c.client, c.principal!);
    done(null, true);
  };
  const run = (c: ConnectCheck, from: number, done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    for (let i = from; i < CONNECT_STEPS.length; i++) {
      const verdict = CONNECT_STEPS[i]![1](c, deps);
      if (verdict === undefined) continue;
      if (verdict instanceof Promise) {
        verdict.then((v) => (v ? settle(c, v, done) : run(c, i + 1, done)));
        return;
      }
      return settle(c, verdict, done);
    }
    settle(c, undefined, done);
  };

  return function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: AuthenticateError | null, success: boolean | null) => void): void {
    const info = deps.connectInfo.get(client);
    const clientId = info?.clientId ?? client.id;
    const cert = deps.peerCertificateOf(client);
    const viaCertificate = Boolean(cert?.authorized && cert.commonName);
    run({ client, username, password, info, clientId, address: deps.remoteAddressOf(client), viaCertificate, certificateName: cert?.commonName, identity: username || clientId }, 0, done);
  };
}
