import { isTopicLevelId, type IntegrationScope } from './integration-acl.js';

/**
 * What is wrong with an integration scope, naming the field, or undefined when it is valid. Checked when
 * an integration account is created and when the registry file is read back.
 */
export function checkIntegrationScope(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'integration: must be an object { type, … }';
  const s = value as Record<string, unknown>;
  const keys = Object.keys(s);
  if (s.type === 'chirpstack') {
    if (!isTopicLevelId(s.applicationId)) return `integration.applicationId: must be ChirpStack's application id (1-128 characters, no / + # or leading $), got ${JSON.stringify(s.applicationId)?.slice(0, 80)}`;
    const extra = keys.find((k) => k !== 'type' && k !== 'applicationId');
    return extra ? `integration.${extra}: unknown field for a chirpstack integration` : undefined;
  }
  if (s.type === 'sparkplug') {
    if (!isTopicLevelId(s.groupId) || s.groupId === 'STATE') return `integration.groupId: must be a Sparkplug group id (1-128 characters, no / + # or leading $, not STATE), got ${JSON.stringify(s.groupId)?.slice(0, 80)}`;
    if (s.edgeNodeId !== undefined && !isTopicLevelId(s.edgeNodeId)) return `integration.edgeNodeId: must be a Sparkplug edge node id (1-128 characters, no / + # or leading $), got ${JSON.stringify(s.edgeNodeId)?.slice(0, 80)}`;
    const extra = keys.find((k) => k !== 'type' && k !== 'groupId' && k !== 'edgeNodeId');
    return extra ? `integration.${extra}: unknown field for a sparkplug integration` : undefined;
  }
  return `integration.type: must be chirpstack or sparkplug, got ${JSON.stringify(s.type)?.slice(0, 80)}`;
}

/** The scope's own words, for logs and the API. */
export function describeScope(scope: IntegrationScope): string {
  return scope.type === 'chirpstack' ? `ChirpStack application ${scope.applicationId}` : `Sparkplug group ${scope.groupId}${scope.edgeNodeId ? `, edge node ${scope.edgeNodeId}` : ''}`;
}
