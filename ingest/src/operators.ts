/**
 * The operators' surface of @tsunagaru/ingest (`@tsunagaru/ingest/operators`): role tokens and the audit
 * log in DATA_DIR, for the CLIs that share them with a running ingest (`npm run tokens`, `npm run
 * devices`). A second entry point so those tools start in a moment: it pulls in neither the store, the
 * broker client nor the API server that the main one (index.ts) brings.
 */
export { canSeeDeviceType, canSeeWelfare, isRole, ROLES, type Role } from './api/roles.js';
export { addToken, readTokens, revokeToken, tokensPathFor, type TokenRecord } from './api/tokens.js';
export { auditPathFor, FileAuditLog, type AuditActor, type AuditEntry } from './api/audit-log.js';
