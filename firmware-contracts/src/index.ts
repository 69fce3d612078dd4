export * from './topics.js';
export * from './bounds.js';
export { MAX_PAYLOAD_BYTES, MAX_SAMPLES } from './common.js';
export * from './telemetry.js';
export * from './event.js';
export * from './state.js';
export * from './command.js';
export { formatIssues, formatPath } from './format-issues.js';
export * from './validate.js';
