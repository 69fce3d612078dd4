/** Public surface of @tsunagaru/edge-agent. */
export { DeviceSession } from './device-session.js';
export type { PublishOptions, SessionEvent, SessionState, StartOptions, StopOptions } from './session-types.js';
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
export { ModbusBus, type BusStats, type ModbusBusOptions } from './modbus/bus.js';
export { MODBUS_EXCEPTIONS, ModbusDriverError, type BitTable, type ModbusDriver, type WordTable } from './modbus/driver.js';
export { ModbusSerialDriver, type ModbusRtuOptions, type ModbusTcpOptions } from './modbus/modbus-serial-driver.js';
export { ScriptedDriver, type ScriptedDriverOptions, type ScriptedFault, type ScriptedRequest } from './modbus/scripted-driver.js';
export { toRaw, toReading, pointOrder, pointWidth, type RawPoint, type ReadingValue } from './modbus/point-codec.js';
export { bytesToRegisters, decodeRegisters, encodeRegisters, registersToBytes, swapBytes, type ByteWordOrder } from './modbus/swap.js';
export { RegisterReader, type ReadFailure, type ReadResult } from './modbus/register-reader.js';
export { planReads, type ReadBlock } from './modbus/read-plan.js';
export { BUILTIN_REGISTER_MAPS, loadRegisterMap, parseRegisterMapText, registerMapPath, REGISTER_MAPS_DIR, type BuiltinRegisterMap } from './register-map-file.js';
export { edgeEvents, type EdgeEvent } from './edge-events.js';
export { EdgeAgent, RESTART_EXIT_CODE, type EdgeAgentDeps } from './agent/agent.js';
export { AGENT_VERSION, agentConfigJsonSchema, loadAgentConfig, parseAgentConfig, type AgentConfig } from './agent/config.js';
export type { HealthReport } from './agent/health.js';
export { MessageFactory } from './agent/message-factory.js';
export { DiskBuffer, type DiskBufferOptions } from './buffer/disk-buffer.js';
export { MemoryBuffer } from './buffer/memory-buffer.js';
export type { BufferedMessage, BufferedSample, BufferOptions, BufferStats, DropReport, Lane, MessageBuffer, OutgoingMessage } from './buffer/types.js';
export { jsonLogger, type LogLevel } from './json-logger.js';
