import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { verifySecret } from '@tsunagaru/broker';
import type { AttributeValue, DeviceRegistry, GeoLocation, DeviceType } from '@tsunagaru/firmware-contracts';

interface SimulatedDevice {
  id: string;
  type: DeviceType;
  attributes?: Record<string, AttributeValue>;
  location?: GeoLocation;
}

/**
 * Provisions the simulated fleet and keeps the secrets the simulators log in with in a 0600 file beside
 * the data (the registry holds only hashes). A device whose kept secret no longer matches is re-keyed.
 */
export async function ensureSimulatorCredentials(registry: DeviceRegistry, devices: readonly SimulatedDevice[], file: string): Promise<Record<string, string>> {
  const known: Record<string, string> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const secrets: Record<string, string> = {};
  for (const d of devices) {
    const record = registry.getDevice(d.id);
    const kept = known[d.id];
    if (record && kept && (await verifySecret(kept, record.secretHash))) {
      secrets[d.id] = kept;
    } else if (record) {
      secrets[d.id] = (await registry.rotateSecret(d.id)).secret;
    } else {
      secrets[d.id] = (await registry.provision({ id: d.id, type: d.type, attributes: d.attributes ?? {}, ...(d.location ? { location: d.location } : {}) })).secret;
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  chmodSync(file, 0o600);
  return secrets;
}
