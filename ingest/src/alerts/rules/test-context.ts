import type { AttributeValue } from '@tsunagaru/firmware-contracts';
import { DEFAULT_ALERT_RULES, parseAlertRules } from '../rules-config.js';
import { keyString, type Condition } from '../types.js';
import { RuleState, type RuleContext } from './context.js';

/**
 * A RuleContext for unit tests: conditions are kept by key (the latest verdict wins), and severityOf
 * answers from them, as the lifecycle would without delays.
 */
export function testContext(attributes: Record<string, Record<string, AttributeValue>> = {}, rules: unknown = undefined) {
  const latest = new Map<string, Condition>();
  const ctx: RuleContext & { active(rule?: string): Condition[]; setNow(t: number): void } = {
    config: rules === undefined ? DEFAULT_ALERT_RULES : parseAlertRules(rules),
    state: new RuleState(),
    now: 0,
    attributes: (id) => attributes[id] ?? {},
    severityOf: (deviceId, rule, object = null) => {
      const c = latest.get(keyString({ deviceId, rule, object }));
      return c?.active ? c.severity : null;
    },
    report: (c) => void latest.set(keyString(c), c),
    active: (rule) => [...latest.values()].filter((c) => c.active && (!rule || c.rule === rule)),
    setNow(t) {
      this.now = t;
    },
  };
  return ctx;
}
