/**
 * The operators' surface of @tsunagaru/ingest (`@tsunagaru/ingest/operators`): role tokens and the audit
 * log in DATA_DIR, and the bulk import of a device file, for the CLIs that share them with a running
 * ingest (`npm run tokens`, `npm run devices`). A second entry point so those tools start in a moment: it
 * pulls in neither the store, the broker client nor the API server that the main one (index.ts) brings.
 */
export { canSeeDeviceType, canSeeWelfare, isRole, ROLES, type Role } from './api/roles.js';
export { addToken, readTokens, revokeToken, tokensPathFor, type TokenRecord } from './api/tokens.js';
export { auditPathFor, FileAuditLog, type AuditActor, type AuditEntry, type AuditLog } from './api/audit-log.js';
// Bulk provisioning from a file (`npm run devices -- import`, and POST /api/v1/devices/import).
export { deviceFileFormat, parseDeviceFile, type DeviceFileFormat, type DeviceFileProblem, type DeviceFileRow } from './provisioning/device-file.js';
export { importDeviceFile, MAX_REPORTED_PROBLEMS, type DeviceImportOptions, type DeviceImportReport } from './provisioning/device-import.js';
