import { agentConfigJsonSchema } from '@tsunagaru/edge-agent';
import { alertRulesJsonSchema } from '@tsunagaru/ingest';

/** The JSON Schema files of our configuration files, from the repository root (`npm run config:export`). */
export const CONFIG_SCHEMA_FILES: ReadonlyArray<{ path: string; generate: () => Record<string, unknown> }> = [
  { path: 'ingest/schema/alert-rules.schema.json', generate: alertRulesJsonSchema },
  { path: 'edge-agent/schema/agent-config.schema.json', generate: agentConfigJsonSchema },
];
