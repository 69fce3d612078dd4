import type { DeviceType } from './topics.js';

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

/** A back-end service that talks MQTT (the ingest): reads every device topic, publishes commands. */
export interface ServiceAccount {
  username: string;
  role: 'ingest';
  secretHash: string;
  createdAt: string;
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
  /** Creates or replaces a service account with the given plain secret. */
  upsertService(username: string, role: ServiceAccount['role'], secret: string): Promise<ServiceAccount>;
  /** Called after any change (including changes made by another process to a shared file). */
  onChange(listener: (deviceId: string | null) => void): () => void;
  close(): Promise<void>;
}
