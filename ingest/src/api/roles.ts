import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyRequest } from 'fastify';

/**
 * API roles. Each bearer token carries exactly one.
 * - `admin`: everything, including provisioning, revocation, tokens and the audit log.
 * - `field-engineer`: installs and maintains devices: reads every device, provisions, rotates secrets,
 *   disables/enables, reads dead letters to debug firmware. Never welfare data.
 * - `water-bureau`: the water utility: water meters only, including welfare data (the `welfareWatch`
 *   attribute of a meter and welfare alerts).
 * - `disaster-ops`: the disaster operations room: every device and reading (power, ring, poles, meters)
 *   for situational awareness. Never welfare data.
 */
export const ROLES = ['admin', 'field-engineer', 'water-bureau', 'disaster-ops'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Convenience sets for route declarations (`config: { roles: READ_ROLES }`); admin is always allowed. */
export const READ_ROLES: readonly Role[] = ['field-engineer', 'water-bureau', 'disaster-ops'];
export const FIELD_ROLES: readonly Role[] = ['field-engineer'];
export const ADMIN_ONLY: readonly Role[] = [];

/** Who the request authenticated as. `tokenId` is `bootstrap` for TSUNAGARU_ADMIN_TOKEN. */
export interface ApiPrincipal {
  tokenId: string;
  name: string;
  role: Role;
}

/**
 * Route declaration → may this role call it? Deny by default: a route without `roles` is admin-only
 * (routes added later stay closed until their author declares who needs them); `public: true` routes
 * (health, docs, the console shell) are checked before this and need no token at all.
 */
export function roleAllowed(role: Role, declared: readonly Role[] | undefined): boolean {
  return role === 'admin' || (declared ?? ADMIN_ONLY).includes(role);
}

/** The caller's role; `admin` only where no access check ran (apps built without tokens in unit tests). */
export const roleOf = (request: FastifyRequest): Role => request.principal?.role ?? 'admin';

/** Welfare data (who is on a welfare watch, welfare alerts) is for the water bureau and admins only. */
export function canSeeWelfare(role: Role): boolean {
  return role === 'admin' || role === 'water-bureau';
}

/** Device types a role works with; others are invisible to it (404, not 403: their ids are not revealed). */
const DEVICE_SCOPE: Record<Role, readonly DeviceType[] | 'all'> = {
  admin: 'all',
  'field-engineer': 'all',
  'water-bureau': ['water-meter'],
  'disaster-ops': 'all',
};

export function canSeeDeviceType(role: Role, type: DeviceType): boolean {
  const scope = DEVICE_SCOPE[role];
  return scope === 'all' || scope.includes(type);
}

/** Welfare data by name: every attribute or field whose name starts with `welfare` (welfareWatch, welfareHours, …). */
export function isWelfareKey(key: string): boolean {
  return /^welfare/i.test(key);
}

/**
 * Is this object a welfare record (to be withheld from roles without welfare access)? The convention
 * for any route: mark welfare alerts/records with `welfare: true`, a `rule`/`kind` starting with
 * `welfare`, or `detail.welfareWatch: true`.
 */
export function isWelfareRecord(value: Record<string, unknown>): boolean {
  if (value.welfare === true) return true;
  for (const key of ['rule', 'kind', 'category']) {
    const v = value[key];
    if (typeof v === 'string' && v.startsWith('welfare')) return true;
  }
  const detail = value.detail as Record<string, unknown> | null | undefined;
  return typeof detail === 'object' && detail !== null && detail.welfareWatch === true;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);

/** A welfare record, or an object carrying one (a webhook dead letter carries its event's alert). */
function holdsWelfareRecord(value: Record<string, unknown>, depth: number): boolean {
  if (isWelfareRecord(value)) return true;
  if (depth > 8) return false;
  return Object.values(value).some((v) => isPlainObject(v) && holdsWelfareRecord(v, depth + 1));
}

/**
 * Removes welfare data from a response body, whatever route built it (a safety net run for every
 * response to a role without welfare access): welfare keys are deleted and list items that are, or
 * carry, a welfare record are dropped. Returns a copy; the input (possibly a frozen registry record) is
 * not touched.
 */
export function redactWelfare(value: unknown, depth = 0): unknown {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.filter((v) => !(isPlainObject(v) && holdsWelfareRecord(v, 0))).map((v) => redactWelfare(v, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!isWelfareKey(k)) out[k] = redactWelfare(v, depth + 1);
  return out;
}

/**
 * The alert groups (alerts/types.ts: one operator console each) whose notifications a role handles: the
 * webhook dead letters it may read. Admin: all.
 */
const ALERT_GROUPS_OF: Record<Role, readonly string[] | 'all'> = {
  admin: 'all',
  'field-engineer': ['field'],
  'water-bureau': ['water'],
  'disaster-ops': ['disaster'],
};

export function handlesAlertGroup(role: Role, group: string): boolean {
  const groups = ALERT_GROUPS_OF[role];
  return groups === 'all' || groups.includes(group);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles besides admin that may call this route; absent = admin only (see roleAllowed). */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    /** Set by the access hook for every authenticated request; null on public routes. */
    principal: ApiPrincipal | null;
  }
}
