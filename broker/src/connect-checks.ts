import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import { canPublish, clientIdAllowed, principalName, type Principal } from './acl.js';
import { authenticateCertificate, authenticateCredentials, CONNACK, type AuthOutcome } from './auth.js';
import type { BrokerCluster } from './cluster.js';
import type { DenialContext, DenialLog, DenialReason } from './denials.js';
import type { PeerCertificate } from './listeners.js';
import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { SecretCheck } from './secret-check.js';
import type { AuthThrottle } from './throttle.js';

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

export function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: returnCode as AuthenticateError['returnCode'] });
}

export function payloadLength(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

/**
 * aedes' authenticate hook. In order, cheapest first: cluster health; the client id's length (a
 * huge one is refused before anything is logged or looked up); a client certificate the TLS layer
 * verified (never subject to the password lockouts: it is not a guessable secret); the lockouts of
 * the (identity, address) pair and of the address; the secret, through SecretCheck (fast path for a
 * recently verified secret, else bounded scrypt); then the client-id rule and the will's rights.
 */
export function createAuthenticate(deps: LoginDeps) {
  const { registry, denials, throttle, secrets, cluster, connectInfo, principals } = deps;

  return function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const refuse = (reason: DenialReason, returnCode: number, extra: DenialContext = {}): void => {
      denials.deny(reason, { ...deps.contextOf(client), username, ...extra });
      done(authError(returnCode, reason), false);
    };
    const info = connectInfo.get(client);
    const clientId = info?.clientId ?? client.id;
    const address = deps.remoteAddressOf(client);
    // Cluster without Redis: a session could not be restored or stored. Code 3: the device retries.
    if (cluster && !cluster.healthy()) return done(authError(CONNACK.SERVER_UNAVAILABLE, 'cluster unavailable: Redis unreachable'), false);
    if (clientId.length > deps.maxClientIdLength) {
      return refuse('client_id_rejected', 2, { detail: `client id of ${clientId.length} characters; at most ${deps.maxClientIdLength}` });
    }
    const cert = deps.peerCertificateOf(client);
    const viaCertificate = Boolean(cert?.authorized && cert.commonName);
    const identity = username || clientId;
    if (!viaCertificate) {
      // Throttled: refuse before spending scrypt. Code 3 ("server unavailable") makes a real device retry later.
      const verdict = throttle?.check(identity, address) ?? { ok: true };
      if (!verdict.ok) {
        const who = verdict.scope === 'pair' ? 'identity locked out from this address' : verdict.scope === 'address' ? 'address locked out' : 'too many logins in progress from this address';
        return refuse('auth_throttled', CONNACK.SERVER_UNAVAILABLE, { detail: `${who} for ${Math.ceil(verdict.retryAfterMs / 1000)} s after repeated failed logins` });
      }
    }
    const verify = (id: string | undefined, secret: string, storedHash: string) => secrets.verify(id, secret, storedHash, () => !client.closed);
    const attempt: Promise<AuthOutcome> = viaCertificate
      ? Promise.resolve(authenticateCertificate(registry, cert!.commonName!, username))
      : (throttle?.begin(address), authenticateCredentials(registry, username, password, verify).finally(() => throttle?.end(address)));
    attempt.then(
      (outcome) => {
        if (!outcome.ok) {
          if (!viaCertificate && GUESSING.has(outcome.reason)) throttle?.failed(identity, address);
          return refuse(outcome.reason, outcome.returnCode, { detail: outcome.detail });
        }
        if (!viaCertificate) throttle?.succeeded(identity, address);
        const { principal } = outcome;
        if (deps.bindClientId && !clientIdAllowed(principal, clientId)) {
          return refuse('client_id_rejected', 2, { detail: `client id must be "${principalName(principal)}" or start with "${principalName(principal)}:"` });
        }
        // The will is published by the broker on the device's behalf, so it must obey the same
        // publish rights; refusing it here tells the device at once (code 5) instead of silently
        // dropping its death message later. aedes also runs authorizePublish on the will at close.
        const will = info?.will;
        if (will) {
          const size = payloadLength(will.payload);
          const decision = canPublish(principal, will.topic, will.retain ?? false);
          if (size > deps.maxPayloadBytes) return refuse('will_denied', CONNACK.NOT_AUTHORIZED, { topic: will.topic, detail: `will payload ${size} bytes > ${deps.maxPayloadBytes}` });
          if (!decision.ok) return refuse('will_denied', CONNACK.NOT_AUTHORIZED, { topic: will.topic, detail: decision.detail });
        }
        // Cluster: before aedes announces this session to the other nodes, so they see it moved.
        if (info?.clientId) cluster?.sessionStarted(info.clientId);
        principals.set(client, principal);
        done(null, true);
      },
      (err: unknown) => {
        deps.onRegistryError(err, client);
        refuse('registry_error', CONNACK.SERVER_UNAVAILABLE);
      },
    );
  };
}
