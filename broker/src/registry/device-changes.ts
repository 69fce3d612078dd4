import { RegistryError } from './errors.js';
import type { AttributeValue, DevicePatch, DeviceRecord, GeoLocation, ImportRowError, ProvisionInput } from '@tsunagaru/firmware-contracts';
import { checkAttributes, checkLocation, checkProvisionInput } from './validate.js';

/**
 * Changes to devices that already exist, by merge (patchDevice, and the rows of a bulk import that name a
 * provisioned device), and the checks and plan of a bulk import. Pure functions: the registry runs them
 * inside its mutation queue against its current state.
 */

function invalid(message: string): RegistryError {
  return new RegistryError('REGISTRY_ERR_INVALID', message);
}

export function checkPatch(patch: DevicePatch): void {
  if (typeof patch !== 'object' || patch === null) throw invalid('patch: must be an object');
  if (patch.set !== undefined) checkAttributes(patch.set);
  if (patch.unset !== undefined && (!Array.isArray(patch.unset) || !patch.unset.every((k) => typeof k === 'string'))) {
    throw invalid('unset: must be a list of attribute names');
  }
  if (patch.location !== undefined && patch.location !== null) checkLocation(patch.location);
}

export function sameAttributes(a: Record<string, AttributeValue>, b: Record<string, AttributeValue>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

const sameLocation = (a: GeoLocation | undefined, b: GeoLocation | undefined) => a === b || (a !== undefined && b !== undefined && a.lat === b.lat && a.lon === b.lon);

/**
 * The device after `patch` (attributes merged, location replaced or removed), or undefined when nothing
 * would change. Throws when the merged attributes break a limit (e.g. too many keys). `patch` is checked.
 */
export function patchedDevice(current: DeviceRecord, patch: DevicePatch, updatedAt: string): DeviceRecord | undefined {
  const attributes: Record<string, AttributeValue> = { ...current.attributes };
  for (const key of patch.unset ?? []) delete attributes[key];
  // checkPatch refused a `__proto__` key, so this assigns own properties only.
  for (const [key, value] of Object.entries(patch.set ?? {})) attributes[key] = value;
  const location = patch.location === undefined ? current.location : (patch.location ?? undefined);
  if (sameAttributes(attributes, current.attributes) && sameLocation(location, current.location)) return undefined;
  checkAttributes(attributes);
  const { location: _old, ...rest } = current;
  return { ...rest, attributes, ...(location ? { location: { lat: location.lat, lon: location.lon } } : {}), updatedAt };
}

/** Every row on its own (id, type, attributes, location, secret), and no id twice. */
export function checkImportRows(rows: readonly ProvisionInput[]): ImportRowError[] {
  const errors: ImportRowError[] = [];
  const firstAt = new Map<string, number>();
  rows.forEach((row, index) => {
    const id = typeof row?.id === 'string' ? row.id.slice(0, 80) : undefined;
    try {
      checkProvisionInput(row);
    } catch (err) {
      errors.push({ index, ...(id ? { id } : {}), message: (err as Error).message });
      return;
    }
    const first = firstAt.get(row.id);
    if (first !== undefined) errors.push({ index, id: row.id, message: `id ${row.id} is also on row ${first + 1}: one row per device` });
    else firstAt.set(row.id, index);
  });
  return errors;
}

export type ImportAction = { kind: 'create'; index: number; row: ProvisionInput } | { kind: 'update'; index: number; device: DeviceRecord } | { kind: 'unchanged'; index: number };

/**
 * What each (checked) row does to the registry as it is: create the device, merge the row's attributes
 * and location into the provisioned one, or nothing. A row cannot change a device's type (its topics and
 * ACL follow from it) nor take a service account's username.
 */
export function planImport(
  rows: readonly ProvisionInput[],
  registry: { getDevice(id: string): DeviceRecord | undefined; isService(username: string): boolean },
  updatedAt: string,
  /** Rows already refused by checkImportRows. */
  skip: ReadonlySet<number> = new Set(),
): { actions: ImportAction[]; errors: ImportRowError[] } {
  const actions: ImportAction[] = [];
  const errors: ImportRowError[] = [];
  rows.forEach((row, index) => {
    if (skip.has(index)) return;
    const current = registry.getDevice(row.id);
    if (!current) {
      if (registry.isService(row.id)) errors.push({ index, id: row.id, message: `"${row.id}" is a service account username; device ids and usernames share one namespace` });
      else actions.push({ kind: 'create', index, row });
      return;
    }
    if (current.type !== row.type) {
      errors.push({ index, id: row.id, message: `device ${row.id} is provisioned as ${current.type}; an import cannot change its type to ${row.type}` });
      return;
    }
    try {
      const device = patchedDevice(current, { set: row.attributes ?? {}, ...(row.location ? { location: row.location } : {}) }, updatedAt);
      actions.push(device ? { kind: 'update', index, device } : { kind: 'unchanged', index });
    } catch (err) {
      errors.push({ index, id: row.id, message: `device ${row.id}: ${(err as Error).message}` }); // e.g. too many attributes once merged
    }
  });
  return { actions, errors };
}
