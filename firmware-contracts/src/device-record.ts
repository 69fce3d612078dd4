import type { DeviceType } from './topics.js';

/**
 * What an integration principal may do: fixed at creation (POST /api/v1/integrations). Its rights on the
 * broker follow from it (broker/src/integrations/integration-acl.ts).
 */
export type IntegrationScope =
  | { type: 'chirpstack'; applicationId: string }
  | { type: 'sparkplug'; groupId: string; edgeNodeId?: string };

/** Attribute values a device carries from provisioning (e.g. `dma`, `site`, `island`, `welfareWatch`). */
export type AttributeValue = string | number | boolean | null;

export interface GeoLocation {
  lat: number;
  lon: number;
}

/** A provisioned device. The secret itself is never stored: only its scrypt hash (`secretHash`). */
export interface DeviceRecord {
  id: string;
  type: DeviceType;
  attributes: Record<string, AttributeValue>;
  location?: GeoLocation;
  /** `scrypt$N$r$p$<salt base64url>$<hash base64url>` */
  secretHash: string;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/**
 * A back-end service that talks MQTT: the ingest (reads every device topic, publishes commands), or an
 * integration principal (role `integration`: a ChirpStack application or Sparkplug edge nodes, with the
 * rights of its `integration` scope, broker/src/integrations/integration-acl.ts).
 */
export interface ServiceAccount {
  username: string;
  role: 'ingest' | 'integration';
  secretHash: string;
  createdAt: string;
  /** Present exactly when role is `integration`. */
  integration?: IntegrationScope;
}

export interface ProvisionInput {
  id: string;
  type: DeviceType;
  attributes?: Record<string, AttributeValue>;
  location?: GeoLocation;
  /** Use this secret instead of generating one (e.g. migrating a fleet); at least 16 characters. */
  /**
   * `null`: no secret of its own, the device cannot log in (e.g. a meter behind an LPWA head-end gateway,
   * attribute `headEnd`, which publishes for it). Costs no scrypt: one locked hash per registry. The
   * result's `secret` is then ''.
   */
  secret?: string | null;
}

export interface ProvisionResult {
  device: DeviceRecord;
  /** The plain secret, returned exactly once. */
  secret: string;
}

/**
 * Where devices and services are registered. The broker reads it to authenticate and authorise; the
 * ingest writes it when the API provisions a device. Implementations must be safe to share between the
 * embedded broker and ingest in one process, and the file implementation between processes.
 */
export interface DeviceRegistry {
  getDevice(id: string): DeviceRecord | undefined;
  listDevices(): DeviceRecord[];
  getService(username: string): ServiceAccount | undefined;
  /** Every service account, sorted by username (the API lists integration principals). */
  listServices(): ServiceAccount[];
  /** Throws RegistryError code REGISTRY_ERR_EXISTS if the id is taken. */
  provision(input: ProvisionInput): Promise<ProvisionResult>;
  /** Replaces the secret; returns the new plain secret once. */
  rotateSecret(id: string): Promise<ProvisionResult>;
  setDisabled(id: string, disabled: boolean): Promise<DeviceRecord>;
  /**
   * Revokes a device's credentials in one change: disabled, and its secret replaced by a random one that
   * is never returned, so even re-enabling it does not let the old secret in (re-admit with
   * rotateSecret + setDisabled(false)). Live sessions are closed through onChange.
   */
  revoke(id: string): Promise<DeviceRecord>;
  updateAttributes(id: string, attributes: Record<string, AttributeValue>, location?: GeoLocation): Promise<DeviceRecord>;
  /**
   * Changes some attributes and the location, leaving the others as they are (merge, not replace): what an
   * operator edits without having seen every attribute (roles that are shown no welfare attributes). No
   * change, no write: the record returned is the current one.
   */
  patchDevice(id: string, patch: DevicePatch): Promise<DeviceRecord>;
  /**
   * Bulk provisioning (device-import.ts): every row checked before anything is written; new devices are
   * created, existing ones of the same type get the row's attributes and location merged in (a re-import
   * changes nothing and issues no secret), written in batches with one fsync each.
   */
  importDevices(rows: readonly ProvisionInput[], options?: ImportOptions): Promise<ImportOutcome>;
  /** Creates or replaces a service account with the given plain secret (`integration`: the scope of an integration principal). */
  upsertService(username: string, role: ServiceAccount['role'], secret: string, integration?: IntegrationScope): Promise<ServiceAccount>;
  /** Called after any change (including changes made by another process to a shared file). */
  onChange(listener: (deviceId: string | null) => void): () => void;
  close(): Promise<void>;
}

/** What patchDevice changes. */
export interface DevicePatch {
  /** Attributes to add or replace. */
  set?: Record<string, AttributeValue>;
  /** Attribute keys to remove. */
  unset?: readonly string[];
  /** The new location; null removes it; absent leaves it. */
  location?: GeoLocation | null;
}

export interface ImportOptions {
  /** Check and count only; write nothing. */
  dryRun?: boolean;
  /** Rows per append + fsync. Default 5000. */
  batchSize?: number;
}

/** A row the import refused, by its index in the rows given. */
export interface ImportRowError {
  index: number;
  id?: string;
  message: string;
}

export interface ImportOutcome {
  /** False when any row was refused (then nothing was written) or for a dry run. */
  applied: boolean;
  errors: ImportRowError[];
  created: number;
  updated: number;
  unchanged: number;
  /** Of the created: devices without a secret of their own (`secret: null`, e.g. meters behind a head-end). */
  withoutSecret: number;
  /** Plain secrets of the created devices that have one, returned exactly once (empty for a dry run). */
  secrets: Array<{ id: string; type: DeviceType; secret: string }>;
}
