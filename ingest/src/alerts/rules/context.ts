import type { AttributeValue } from '@tsunagaru/firmware-contracts';
import type { AlertRulesConfig } from '../rules-config.js';
import type { Condition, Severity } from '../types.js';

/**
 * The rules' own memory (latest readings, water history, segment reports), by scope (`bs:<id>`,
 * `water:<id>`…). JSON values only: the engine saves the changed scopes periodically and at close, and
 * loads them at start, so a restart does not forget 24 h of leak history.
 */
export class RuleState {
  private readonly dirty = new Set<string>();
  /** Scopes by kind (`bs:`, `water:`…): the clock lists the few plants among 130,000 meters' scopes every 5 s. */
  private readonly kinds = new Map<string, Set<string>>();

  constructor(private readonly values: Map<string, unknown> = new Map()) {
    for (const scope of values.keys()) this.index(scope);
  }

  get<T>(scope: string): T | undefined {
    return this.values.get(scope) as T | undefined;
  }

  set(scope: string, value: unknown): void {
    if (!this.values.has(scope)) this.index(scope);
    this.values.set(scope, value);
    this.dirty.add(scope);
  }

  /** Scopes starting with `prefix`, e.g. every `water:` meter. */
  entries<T>(prefix: string): Array<[string, T]> {
    const colon = prefix.indexOf(':');
    const kind = colon < 0 ? undefined : this.kinds.get(prefix.slice(0, colon + 1));
    const scopes = colon < 0 ? this.values.keys() : (kind ?? []);
    const out: Array<[string, T]> = [];
    for (const scope of scopes) if (scope.startsWith(prefix)) out.push([scope, this.values.get(scope) as T]);
    return out;
  }

  private index(scope: string): void {
    const colon = scope.indexOf(':');
    if (colon < 0) return;
    const kind = scope.slice(0, colon + 1);
    let scopes = this.kinds.get(kind);
    if (!scopes) this.kinds.set(kind, (scopes = new Set()));
    scopes.add(scope);
  }

  /** Marks scopes to be saved again (their write failed); scopes no longer held are skipped. */
  markDirty(scopes: Iterable<string>): void {
    for (const scope of scopes) if (this.values.has(scope)) this.dirty.add(scope);
  }

  takeDirty(): Array<[string, unknown]> {
    const out = [...this.dirty].map((k) => [k, this.values.get(k)] as [string, unknown]);
    this.dirty.clear();
    return out;
  }
}

/** What a rule gets for one evaluation. */
export interface RuleContext {
  config: Readonly<AlertRulesConfig>;
  state: RuleState;
  /** The engine's clock (receive time), epoch ms. */
  now: number;
  /** The device's provisioning attributes (e.g. battery, targetHours, dma, welfareWatch). */
  attributes(deviceId: string): Record<string, AttributeValue>;
  /** Severity the condition holds now (for deadbands); null when inactive. */
  severityOf(deviceId: string, rule: string, object?: string | null): Severity | null;
  report(condition: Condition): void;
}

/** Attribute helpers: provisioning attributes are loosely typed (string | number | boolean | null). */
export function numberAttr(attrs: Record<string, AttributeValue>, name: string): number | undefined {
  const v = attrs[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function boolAttr(attrs: Record<string, AttributeValue>, name: string): boolean {
  const v = attrs[name];
  return v === true || v === 'true' || v === 1;
}

export function stringAttr(attrs: Record<string, AttributeValue>, name: string): string | undefined {
  const v = attrs[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
