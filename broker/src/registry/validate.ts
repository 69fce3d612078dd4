import { DEVICE_ID_PATTERN, DEVICE_TYPES, isDeviceType, isValidDeviceId } from '@tsunagaru/firmware-contracts';
import { RegistryError } from './errors.js';
import { parseSecretHash } from './secret-hash.js';
import type { AttributeValue, DeviceRecord, GeoLocation, ProvisionInput, ServiceAccount } from '@tsunagaru/firmware-contracts';
import { checkIntegrationScope } from '../integrations/integration-scope.js';

/** Shortest plain secret accepted from a caller (a generated one is 32 characters). */
export const MIN_SECRET_LENGTH = 16;
/** Longest plain secret: bounds the scrypt input and the MQTT password field. */
export const MAX_SECRET_LENGTH = 1024;
/** Attribute limits: a record is loaded into memory for every device, so keep it bounded. */
export const MAX_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_KEY_LENGTH = 64;
export const MAX_ATTRIBUTE_STRING_LENGTH = 4096;

const SERVICE_ROLES: readonly ServiceAccount['role'][] = ['ingest', 'integration'];

function invalid(message: string): RegistryError {
  return new RegistryError('REGISTRY_ERR_INVALID', message);
}

/** Device ids and service usernames share one namespace: both are MQTT usernames. */
export function checkUsername(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !isValidDeviceId(value)) {
    throw invalid(`${field}: must match ${DEVICE_ID_PATTERN.source}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
}

export function checkSecret(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || value.length > MAX_SECRET_LENGTH) {
    throw invalid(`secret: must be a string of ${MIN_SECRET_LENGTH}..${MAX_SECRET_LENGTH} characters`);
  }
}

export function checkDeviceType(value: unknown): void {
  if (typeof value !== 'string' || !isDeviceType(value)) {
    throw invalid(`type: must be one of ${DEVICE_TYPES.join(', ')}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
}

export function checkServiceRole(value: unknown): asserts value is ServiceAccount['role'] {
  if (!(SERVICE_ROLES as readonly unknown[]).includes(value)) {
    throw invalid(`role: must be one of ${SERVICE_ROLES.join(', ')}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
}

/** An integration account carries its scope; any other service none. */
export function checkServiceScope(role: ServiceAccount['role'], scope: unknown): void {
  if (role !== 'integration') {
    if (scope !== undefined) throw invalid(`integration: only for role integration, not ${role}`);
    return;
  }
  const problem = checkIntegrationScope(scope);
  if (problem) throw invalid(problem);
}

export function checkAttributes(value: unknown): asserts value is Record<string, AttributeValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('attributes: must be an object of string, number, boolean or null values');
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_ATTRIBUTES) throw invalid(`attributes: at most ${MAX_ATTRIBUTES} keys, got ${entries.length}`);
  for (const [key, v] of entries) {
    if (key.length === 0 || key.length > MAX_ATTRIBUTE_KEY_LENGTH || key === '__proto__') {
      throw invalid(`attributes: key ${JSON.stringify(key.slice(0, 80))} must be 1..${MAX_ATTRIBUTE_KEY_LENGTH} characters`);
    }
    const ok =
      v === null ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      (typeof v === 'string' && v.length <= MAX_ATTRIBUTE_STRING_LENGTH);
    if (!ok) {
      throw invalid(`attributes.${key}: must be a finite number, boolean, null or a string of at most ${MAX_ATTRIBUTE_STRING_LENGTH} characters`);
    }
  }
}

export function checkLocation(value: unknown): asserts value is GeoLocation {
  const loc = value as Partial<GeoLocation> | null;
  if (typeof loc !== 'object' || loc === null) throw invalid('location: must be { lat, lon }');
  if (typeof loc.lat !== 'number' || !(loc.lat >= -90 && loc.lat <= 90)) throw invalid('location.lat: must be a number in -90..90');
  if (typeof loc.lon !== 'number' || !(loc.lon >= -180 && loc.lon <= 180)) throw invalid('location.lon: must be a number in -180..180');
  const extra = Object.keys(loc).filter((k) => k !== 'lat' && k !== 'lon');
  if (extra.length > 0) throw invalid(`location: unexpected field ${extra[0]}`);
}

export function checkProvisionInput(input: ProvisionInput): void {
  if (typeof input !== 'object' || input === null) throw invalid('provision: input must be an object');
  checkUsername('id', input.id);
  checkDeviceType(input.type);
  if (input.attributes !== undefined) checkAttributes(input.attributes);
  if (input.location !== undefined) checkLocation(input.location);
  if (input.secret !== undefined && input.secret !== null) checkSecret(input.secret);
}

/** Validates a record read back from storage; throws with the first problem found. */
export function checkStoredDevice(value: unknown): asserts value is DeviceRecord {
  const r = value as Partial<DeviceRecord> | null;
  if (typeof r !== 'object' || r === null) throw invalid('device record: not an object');
  checkUsername('id', r.id);
  checkDeviceType(r.type);
  checkAttributes(r.attributes);
  if (r.location !== undefined) checkLocation(r.location);
  if (typeof r.secretHash !== 'string') throw invalid('secretHash: missing');
  parseSecretHash(r.secretHash);
  if (typeof r.disabled !== 'boolean') throw invalid('disabled: must be a boolean');
  checkTimestamp('createdAt', r.createdAt);
  checkTimestamp('updatedAt', r.updatedAt);
}

export function checkStoredService(value: unknown): asserts value is ServiceAccount {
  const s = value as Partial<ServiceAccount> | null;
  if (typeof s !== 'object' || s === null) throw invalid('service record: not an object');
  checkUsername('username', s.username);
  checkServiceRole(s.role);
  checkServiceScope(s.role, s.integration);
  if (typeof s.secretHash !== 'string') throw invalid('secretHash: missing');
  parseSecretHash(s.secretHash);
  checkTimestamp('createdAt', s.createdAt);
}

function checkTimestamp(field: string, value: unknown): void {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalid(`${field}: must be an ISO-8601 timestamp`);
}

/** Records handed out are frozen: callers share them with the registry and must not edit them in place. */
export function freezeDevice(record: DeviceRecord): DeviceRecord {
  Object.freeze(record.attributes);
  if (record.location) Object.freeze(record.location);
  return Object.freeze(record);
}
