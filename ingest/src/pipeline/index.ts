export { createIngestPipeline, type IngestPipeline, type PipelineOptions } from './pipeline.js';
export { PIPELINE_STEPS, type PipelineDeps, type MessageContext, type Step } from './steps.js';
export type { Outcome, OutcomeKind, PipelineCounters } from './outcome.js';
