import type { DeviceRegistry, ServiceAccount } from '@tsunagaru/firmware-contracts';
import { hashSecret, verifySecret } from './registry/secret-hash.js';
import { MAX_SECRET_LENGTH } from './registry/validate.js';
import type { Principal } from './acl.js';
import type { DenialReason } from './denials.js';

/** MQTT 3.1.1 CONNACK return codes used here ([MQTT-3.2.2-3], table 3.1). */
export const CONNACK = {
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** Checks a presented secret against a stored hash (SecretCheck.verify, or plain scrypt). */
export type VerifySecretFn = (identity: string | undefined, secret: string, storedHash: string) => Promise<'match' | 'mismatch' | 'busy'>;

const plainScrypt: VerifySecretFn = async (_identity, secret, storedHash) => ((await verifySecret(secret, storedHash)) ? 'match' : 'mismatch');

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: DenialReason; returnCode: 3 | 4 | 5; detail?: string };

/**
 * A hash to verify against when the username is unknown, so "no such user" takes as long as "wrong
 * secret" and response time does not reveal which device ids exist. Built once, lazily, at the
 * production cost.
 */
let dummyHash: Promise<string> | undefined;
function getDummyHash(): Promise<string> {
  dummyHash ??= hashSecret('tsunagaru-no-such-user-0000');
  return dummyHash;
}

/**
 * Checks MQTT credentials against the registry: username = device id (or service username),
 * password = the plain secret. The secret is checked before `disabled`, so only a holder of the
 * right secret learns that a device is disabled (code 5); everyone else gets code 4. `verify` may
 * answer `busy` (too many logins being verified): code 3, so the device retries later.
 */
export async function authenticateCredentials(
  registry: DeviceRegistry,
  username: string | undefined,
  password: Buffer | undefined,
  verify: VerifySecretFn = plainScrypt,
): Promise<AuthOutcome> {
  if (!username || !password || password.length === 0) {
    return { ok: false, reason: 'missing_credentials', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD };
  }
  // Longer than any accepted secret: refuse without spending a scrypt on it.
  if (password.length > MAX_SECRET_LENGTH * 4) {
    return { ok: false, reason: 'bad_secret', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, detail: 'password too long' };
  }
  const secret = password.toString('utf8');
  const service = registry.getService(username);
  const device = service ? undefined : registry.getDevice(username);
  const storedHash = service?.secretHash ?? device?.secretHash;
  try {
    // An unknown username is verified against a dummy hash (never remembered), through the same queue.
    const verdict = await verify(storedHash === undefined ? undefined : username, secret, storedHash ?? (await getDummyHash()));
    if (verdict === 'busy') return { ok: false, reason: 'auth_throttled', returnCode: CONNACK.SERVER_UNAVAILABLE, detail: 'too many logins being verified: server busy' };
    if (storedHash === undefined) return { ok: false, reason: 'unknown_username', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD };
    if (verdict === 'mismatch') return { ok: false, reason: 'bad_secret', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD };
  } catch (err) {
    // A stored hash that does not parse is the operator's problem, not a wrong password: say
    // "server unavailable" so the device retries instead of concluding its secret is wrong.
    return { ok: false, reason: 'registry_error', returnCode: CONNACK.SERVER_UNAVAILABLE, detail: (err as Error).message };
  }
  if (service) return { ok: true, principal: principalOfService(service) };
  const d = device!;
  if (d.disabled) return { ok: false, reason: 'device_disabled', returnCode: CONNACK.NOT_AUTHORIZED };
  return { ok: true, principal: { kind: 'device', id: d.id, type: d.type, secretHash: d.secretHash } };
}

/** The principal of a service account: the ingest, or an integration with its scope. */
export function principalOfService(service: ServiceAccount): Principal {
  // The registry refuses an integration account without its scope (checkServiceScope), on write and on read.
  if (service.role === 'integration') return { kind: 'integration', username: service.username, scope: service.integration!, secretHash: service.secretHash };
  return { kind: 'service', username: service.username, role: 'ingest', secretHash: service.secretHash };
}

/**
 * Whether an authenticated session is still valid after a registry change; the revocation reason
 * if not. Compares the secret hash captured at connect, so a rotation is noticed even though the
 * device id is unchanged.
 */
export function sessionStillValid(
  registry: DeviceRegistry,
  principal: Principal,
): { ok: true } | { ok: false; reason: 'device_disabled' | 'device_removed' | 'secret_rotated' | 'service_removed' } {
  if (principal.kind === 'service' || principal.kind === 'integration') {
    const service = registry.getService(principal.username);
    if (!service) return { ok: false, reason: 'service_removed' };
    return service.secretHash === principal.secretHash ? { ok: true } : { ok: false, reason: 'secret_rotated' };
  }
  const device = registry.getDevice(principal.id);
  if (!device) return { ok: false, reason: 'device_removed' };
  if (device.disabled) return { ok: false, reason: 'device_disabled' };
  return device.secretHash === principal.secretHash ? { ok: true } : { ok: false, reason: 'secret_rotated' };
}

/**
 * Authenticates a device by a TLS client certificate the listener has already verified against its
 * CA: the certificate's CN is the device id. The MQTT username, if sent, must be that id; a password
 * is not needed (and not checked). The device must be provisioned and enabled, so disabling or
 * revoking a device shuts out its certificate too.
 */
export function authenticateCertificate(registry: DeviceRegistry, commonName: string, username: string | undefined): AuthOutcome {
  if (username && username !== commonName) {
    return { ok: false, reason: 'certificate_mismatch', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, detail: `certificate CN "${commonName.slice(0, 80)}" ≠ username` };
  }
  const d = registry.getDevice(commonName);
  if (!d) return { ok: false, reason: 'unknown_username', returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, detail: 'certificate CN is not a provisioned device' };
  if (d.disabled) return { ok: false, reason: 'device_disabled', returnCode: CONNACK.NOT_AUTHORIZED };
  return { ok: true, principal: { kind: 'device', id: d.id, type: d.type, secretHash: d.secretHash } };
}
