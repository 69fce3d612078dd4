import type { AttributeValue } from '@tsunagaru/firmware-contracts';
import type { Correlation } from './lifecycle.js';
import { stringAttr } from './rules/context.js';
import type { Alert, AlertKey } from './types.js';

/**
 * Root causes and their symptoms (domain notes, "Correlation": show the root cause once, with its symptoms
 * grouped beneath it, so operators act on causes, not on a storm).
 *
 * Root causes: an isolated island, a cut ring segment, a district that lost mains. A device depends on an
 * island through its `island` attribute and on a district through its `district` attribute; a cut segment
 * explains the satellite fallback of the sites on the islands at its ends. The most specific cause wins:
 * island, then segment, then district.
 */
export const ROOT_RULES = ['ring-island-isolated', 'ring-segment-down', 'district-mains-lost'] as const;

/** Symptom rules, by the kind of cause that explains them. */
const BY_ISLAND = new Set(['device-silent', 'device-offline', 'backhaul-satellite']);
const BY_SEGMENT = new Set(['backhaul-satellite']);
const BY_DISTRICT = new Set(['device-silent', 'device-offline', 'backhaul-satellite', 'mains-lost']);

export interface CorrelationDeps {
  /** The ring as a managed object (`ring.name`), the device id of island and segment alerts. */
  ringName: string;
  /** Segments by island (the configured topology). */
  segmentsAt(island: string): readonly string[];
  attributes(deviceId: string): Record<string, AttributeValue>;
}

export const districtObject = (district: string) => `district:${district}`;

export function createCorrelation(deps: CorrelationDeps): Correlation {
  const roots = new Set<string>(ROOT_RULES);
  return {
    isRoot: (rule) => roots.has(rule),
    causeOf(alert: Alert, openAlert: (key: AlertKey) => Alert | undefined): Alert | undefined {
      if (roots.has(alert.rule) || alert.deviceId === deps.ringName) return undefined;
      const attrs = deps.attributes(alert.deviceId);
      const island = stringAttr(attrs, 'island');
      if (island && BY_ISLAND.has(alert.rule)) {
        const cause = openAlert({ deviceId: deps.ringName, rule: 'ring-island-isolated', object: island });
        if (cause) return cause;
      }
      if (island && BY_SEGMENT.has(alert.rule)) {
        for (const segment of deps.segmentsAt(island)) {
          const cause = openAlert({ deviceId: deps.ringName, rule: 'ring-segment-down', object: segment });
          if (cause) return cause;
        }
      }
      const district = stringAttr(attrs, 'district');
      if (district && BY_DISTRICT.has(alert.rule)) return openAlert({ deviceId: districtObject(district), rule: 'district-mains-lost', object: null });
      return undefined;
    },
  };
}
