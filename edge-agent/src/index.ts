/** Public surface of @tsunagaru/edge-agent. */
export { DeviceSession } from './device-session.js';
export type { PublishOptions, SessionEvent, SessionState, StopOptions } from './session-types.js';
export type { DeviceSessionOptions } from './session-options.js';
export {
  FileIdentityStore,
  MemoryIdentityStore,
  type FileIdentityStoreOptions,
  type IdentitySnapshot,
  type IdentityStore,
  type MemoryIdentityStoreOptions,
} from './identity-store.js';
export type { CommandContext, CommandHandler, CommandOutcome } from './commands.js';
export { EdgeAgentError, isEdgeAgentError, type EdgeAgentErrorCode } from './errors.js';
export { silentLogger, type Logger } from './logger.js';
