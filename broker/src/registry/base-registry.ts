import { RegistryError } from './errors.js';
import { generateSecret, hashSecret, SCRYPT_DEFAULTS } from './secret-hash.js';
import type {
  AttributeValue,
  DeviceRecord,
  DeviceRegistry,
  GeoLocation,
  ProvisionInput,
  ProvisionResult,
  ServiceAccount,
} from '@tsunagaru/firmware-contracts';
import {
  checkAttributes,
  checkLocation,
  checkProvisionInput,
  checkSecret,
  checkServiceRole,
  checkUsername,
  freezeDevice,
} from './validate.js';

/** One change to the registry: what the file registry appends as a line, and what every mutation makes. */
export type RegistryChange =
  | { op: 'device'; record: DeviceRecord }
  | { op: 'service'; record: ServiceAccount };

/** The subset of pino the registry uses, so any pino logger (or a test double) fits. */
export interface RegistryLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RegistryOptions {
  /** scrypt cost N for new secret hashes; default 16384. Lower only in tests. */
  scryptN?: number;
  /** Clock for createdAt/updatedAt; default `() => new Date()`. */
  now?: () => Date;
  /** Where warnings go (skipped corrupt tail, listener errors); default: stderr. */
  logger?: RegistryLogger;
}

export const stderrRegistryLogger: RegistryLogger = {
  warn: (obj, msg) => console.warn(`[registry] ${msg}`, obj),
  error: (obj, msg) => console.error(`[registry] ${msg}`, obj),
};

/**
 * The registry logic shared by the memory and file implementations. Subclasses only decide how a
 * change is persisted (`persist`) and how to catch up with other writers (`beforeMutation`).
 * Mutations run one at a time so "check the id is free, then write" cannot interleave; secrets are
 * hashed before entering that queue so slow scrypt work does not serialise.
 */
export abstract class BaseDeviceRegistry implements DeviceRegistry {
  protected readonly devices = new Map<string, DeviceRecord>();
  protected readonly services = new Map<string, ServiceAccount>();
  protected readonly logger: RegistryLogger;
  protected closed = false;
  private readonly listeners = new Set<(deviceId: string | null) => void>();
  private readonly scryptN: number;
  private readonly now: () => Date;
  private queue: Promise<unknown> = Promise.resolve();

  protected constructor(options: RegistryOptions = {}) {
    this.scryptN = options.scryptN ?? SCRYPT_DEFAULTS.N;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? stderrRegistryLogger;
  }

  /** Makes the change durable. Called inside the mutation queue, before the in-memory state changes. */
  protected abstract persist(change: RegistryChange): Promise<void>;

  /** Called inside the mutation queue before any check, e.g. to read appends made by another process. */
  protected async beforeMutation(): Promise<void> {}

  getDevice(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  listDevices(): DeviceRecord[] {
    return [...this.devices.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  getService(username: string): ServiceAccount | undefined {
    return this.services.get(username);
  }

  async provision(input: ProvisionInput): Promise<ProvisionResult> {
    checkProvisionInput(input);
    const secret = input.secret === null ? '' : (input.secret ?? generateSecret());
    const secretHash = input.secret === null ? await this.lockedHash() : await hashSecret(secret, { N: this.scryptN });
    return this.mutate(async () => {
      if (this.devices.has(input.id)) throw exists(`device "${input.id}" is already provisioned`);
      if (this.services.has(input.id)) throw exists(`"${input.id}" is a service account username; device ids and usernames share one namespace`);
      const at = this.now().toISOString();
      const device: DeviceRecord = {
        id: input.id,
        type: input.type,
        attributes: { ...(input.attributes ?? {}) },
        ...(input.location ? { location: { lat: input.location.lat, lon: input.location.lon } } : {}),
        secretHash,
        disabled: false,
        createdAt: at,
        updatedAt: at,
      };
      await this.commit({ op: 'device', record: device });
      return { device, secret };
    });
  }

  private locked: Promise<string> | undefined;

  /** The hash of a random secret nobody is ever told: devices without a secret of their own share it. */
  private lockedHash(): Promise<string> {
    this.locked ??= hashSecret(generateSecret(), { N: this.scryptN });
    return this.locked;
  }

  async rotateSecret(id: string): Promise<ProvisionResult> {
    this.requireDevice(id); // fail fast before paying for a hash
    const secret = generateSecret();
    const secretHash = await hashSecret(secret, { N: this.scryptN });
    return this.mutate(async () => {
      const current = this.requireDevice(id);
      const device: DeviceRecord = { ...current, attributes: { ...current.attributes }, secretHash, updatedAt: this.now().toISOString() };
      await this.commit({ op: 'device', record: device });
      return { device, secret };
    });
  }

  setDisabled(id: string, disabled: boolean): Promise<DeviceRecord> {
    if (typeof disabled !== 'boolean') return Promise.reject(invalid('disabled: must be a boolean'));
    return this.mutate(async () => {
      const current = this.requireDevice(id);
      if (current.disabled === disabled) return current; // no-op: nothing to write or announce
      const device: DeviceRecord = { ...current, attributes: { ...current.attributes }, disabled, updatedAt: this.now().toISOString() };
      await this.commit({ op: 'device', record: device });
      return device;
    });
  }

  async revoke(id: string): Promise<DeviceRecord> {
    this.requireDevice(id);
    const secretHash = await hashSecret(generateSecret(), { N: this.scryptN }); // nobody ever sees this secret
    return this.mutate(async () => {
      const current = this.requireDevice(id);
      const device: DeviceRecord = { ...current, attributes: { ...current.attributes }, secretHash, disabled: true, updatedAt: this.now().toISOString() };
      await this.commit({ op: 'device', record: device });
      return device;
    });
  }

  /** Replaces the attribute set (PUT semantics); `location` is replaced only when given. */
  updateAttributes(id: string, attributes: Record<string, AttributeValue>, location?: GeoLocation): Promise<DeviceRecord> {
    try {
      checkAttributes(attributes);
      if (location !== undefined) checkLocation(location);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.mutate(async () => {
      const current = this.requireDevice(id);
      const device: DeviceRecord = {
        ...current,
        attributes: { ...attributes },
        ...(location ? { location: { lat: location.lat, lon: location.lon } } : {}),
        updatedAt: this.now().toISOString(),
      };
      await this.commit({ op: 'device', record: device });
      return device;
    });
  }

  async upsertService(username: string, role: ServiceAccount['role'], secret: string): Promise<ServiceAccount> {
    checkUsername('username', username);
    checkServiceRole(role);
    checkSecret(secret);
    const secretHash = await hashSecret(secret, { N: this.scryptN });
    return this.mutate(async () => {
      if (this.devices.has(username)) throw exists(`"${username}" is a device id; device ids and usernames share one namespace`);
      const createdAt = this.services.get(username)?.createdAt ?? this.now().toISOString();
      const account: ServiceAccount = { username, role, secretHash, createdAt };
      await this.commit({ op: 'service', record: account });
      return account;
    });
  }

  onChange(listener: (deviceId: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  /** Applies a change to the in-memory maps (no persistence, no notification). */
  protected apply(change: RegistryChange): void {
    if (change.op === 'device') this.devices.set(change.record.id, freezeDevice(change.record));
    else this.services.set(change.record.username, Object.freeze(change.record));
  }

  /** Tells listeners: a device id, or null for "services changed / reload everything". */
  protected notify(deviceId: string | null): void {
    for (const listener of this.listeners) {
      try {
        listener(deviceId);
      } catch (err) {
        // A faulty listener must not break the mutation that already succeeded.
        this.logger.error({ err, deviceId }, 'registry onChange listener threw');
      }
    }
  }

  /** Runs `fn` after every earlier queued task has settled; the queue survives failures. */
  protected serialize<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private mutate<T>(fn: () => Promise<T>): Promise<T> {
    return this.serialize(async () => {
      if (this.closed) throw new RegistryError('REGISTRY_ERR_CLOSED', 'registry is closed');
      await this.beforeMutation();
      return fn();
    });
  }

  private async commit(change: RegistryChange): Promise<void> {
    await this.persist(change);
    this.apply(change);
    this.notify(change.op === 'device' ? change.record.id : null);
  }

  private requireDevice(id: string): DeviceRecord {
    const device = this.devices.get(id);
    if (!device) throw new RegistryError('REGISTRY_ERR_NOT_FOUND', `device "${String(id).slice(0, 80)}" is not provisioned`);
    return device;
  }
}

function exists(message: string): RegistryError {
  return new RegistryError('REGISTRY_ERR_EXISTS', message);
}

function invalid(message: string): RegistryError {
  return new RegistryError('REGISTRY_ERR_INVALID', message);
}
