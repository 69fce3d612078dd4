import { MemoryDeviceRegistry } from './memory-registry.js';
import { deviceRegistryContract } from './registry-contract-suite.js';

deviceRegistryContract('MemoryDeviceRegistry', async (options) => ({ registry: new MemoryDeviceRegistry(options) }));
