export { createIngestPipeline, type IngestPipeline, type PipelineOptions, type PreparedBatch, type RawMessage, type BatchOptions } from './pipeline.js';
export { writeBisecting, isRejection } from './store-batch.js';
export { PIPELINE_STEPS, VALIDATION_STEPS, DEFAULT_MAX_CLOCK_SKEW_MS, validateMessage, type PipelineDeps, type MessageContext, type Step, type ValidationStep } from '../dispatch/steps.js';
export type { Outcome, OutcomeKind, PipelineCounters } from '../dispatch/outcome.js';
