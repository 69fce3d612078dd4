import { BaseDeviceRegistry, type RegistryChange, type RegistryOptions } from './base-registry.js';

/**
 * A registry that lives only in memory: for tests and for a single-process demo where losing
 * provisioned devices on restart is acceptable.
 */
export class MemoryDeviceRegistry extends BaseDeviceRegistry {
  constructor(options: RegistryOptions = {}) {
    super(options);
  }

  protected override async persist(_change: RegistryChange): Promise<void> {
    // Nothing to persist: the base class applies the change to its maps after this returns.
  }
}
