import type { IntegrationScope } from '../integrations/integration-acl.js';
import { RegistryError } from './errors.js';
import { generateSecret, hashSecret, SCRYPT_DEFAULTS } from './secret-hash.js';
import { checkImportRows, checkPatch, patchedDevice, planImport } from './device-changes.js';
import type {
  AttributeValue,
  DevicePatch,
  DeviceRecord,
  DeviceRegistry,
  GeoLocation,
  ImportOptions,
  ImportOutcome,
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
  checkServiceScope,
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

  /** Makes several changes durable at once (a bulk import); by default one persist each. */
  protected async persistBatch(changes: readonly RegistryChange[]): Promise<void> {
    for (const change of changes) await this.persist(change);
  }

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

  listServices(): ServiceAccount[] {
    return [...this.services.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
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

  patchDevice(id: string, patch: DevicePatch): Promise<DeviceRecord> {
    try {
      checkPatch(patch);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.mutate(async () => {
      const current = this.requireDevice(id);
      const device = patchedDevice(current, patch, this.now().toISOString());
      if (!device) return current; // no change: nothing to write or announce
      await this.commit({ op: 'device', record: device });
      return device;
    });
  }

  async importDevices(rows: readonly ProvisionInput[], options: ImportOptions = {}): Promise<ImportOutcome> {
    const outcome = (o: Partial<ImportOutcome>): ImportOutcome => ({ applied: false, errors: [], created: 0, updated: 0, unchanged: 0, withoutSecret: 0, secrets: [], ...o });
    const errors = checkImportRows(rows);
    if (errors.length > 0) {
      // Also what the other rows would meet in the registry, so one pass names every problem.
      const lookup = { getDevice: (id: string) => this.devices.get(id), isService: (u: string) => this.services.has(u) };
      const more = planImport(rows, lookup, '', new Set(errors.map((e) => e.index))).errors;
      return outcome({ errors: [...errors, ...more].sort((a, b) => a.index - b.index) });
    }
    // scrypt outside the queue, a few at a time (libuv's pool), for the rows that are new now and get a secret.
    const secrets = new Map<number, { secret: string; hash: string }>();
    if (!options.dryRun) {
      const wanted = rows.flatMap((row, i) => (row.secret !== null && !this.devices.has(row.id) ? [i] : []));
      const next = { at: 0 };
      const worker = async () => {
        for (let i = wanted[next.at++]; i !== undefined; i = wanted[next.at++]) {
          const secret = rows[i]!.secret ?? generateSecret();
          secrets.set(i, { secret, hash: await hashSecret(secret, { N: this.scryptN }) });
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    }
    const locked = !options.dryRun && rows.some((r) => r.secret === null) ? await this.lockedHash() : '';
    return this.mutate(async () => {
      const at = this.now().toISOString();
      const plan = planImport(rows, { getDevice: (id) => this.devices.get(id), isService: (u) => this.services.has(u) }, at);
      const created = plan.actions.filter((a) => a.kind === 'create');
      const counts = {
        created: created.length,
        updated: plan.actions.filter((a) => a.kind === 'update').length,
        unchanged: plan.actions.filter((a) => a.kind === 'unchanged').length,
        withoutSecret: created.filter((a) => a.row.secret === null).length,
      };
      if (plan.errors.length > 0) return outcome({ ...counts, errors: plan.errors });
      if (options.dryRun) return outcome(counts);
      const changes: RegistryChange[] = [];
      const issued: ImportOutcome['secrets'] = [];
      for (const action of plan.actions) {
        if (action.kind === 'update') changes.push({ op: 'device', record: action.device });
        if (action.kind !== 'create') continue;
        const { row, index } = action;
        // A row that was provisioned meanwhile is an update above; one that is new here was hashed before.
        const own = row.secret === null ? undefined : (secrets.get(index) ?? { secret: row.secret ?? generateSecret(), hash: '' });
        if (own && !own.hash) own.hash = await hashSecret(own.secret, { N: this.scryptN });
        const record: DeviceRecord = { id: row.id, type: row.type, attributes: { ...(row.attributes ?? {}) }, ...(row.location ? { location: { lat: row.location.lat, lon: row.location.lon } } : {}), secretHash: own?.hash ?? locked, disabled: false, createdAt: at, updatedAt: at };
        changes.push({ op: 'device', record });
        if (own && row.secret === undefined) issued.push({ id: row.id, type: row.type, secret: own.secret });
      }
      const size = Math.max(1, options.batchSize ?? 5000);
      for (let i = 0; i < changes.length; i += size) {
        const batch = changes.slice(i, i + size);
        await this.persistBatch(batch);
        for (const change of batch) this.apply(change);
        // One announcement per batch: listeners (the broker re-checks its sessions) run once, not per device.
        this.notify(batch.length === 1 && batch[0]!.op === 'device' ? batch[0]!.record.id : null);
      }
      return outcome({ ...counts, applied: true, secrets: issued });
    });
  }

  async upsertService(username: string, role: ServiceAccount['role'], secret: string, integration?: IntegrationScope): Promise<ServiceAccount> {
    checkUsername('username', username);
    checkServiceRole(role);
    checkServiceScope(role, integration);
    checkSecret(secret);
    const secretHash = await hashSecret(secret, { N: this.scryptN });
    return this.mutate(async () => {
      if (this.devices.has(username)) throw exists(`"${username}" is a device id; device ids and usernames share one namespace`);
      const createdAt = this.services.get(username)?.createdAt ?? this.now().toISOString();
      const account: ServiceAccount = { username, role, secretHash, createdAt, ...(integration ? { integration: { ...integration } } : {}) };
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
    else {
      if (change.record.integration) Object.freeze(change.record.integration);
      this.services.set(change.record.username, Object.freeze(change.record));
    }
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
