/**
 * The ring topology lives in firmware-contracts (contract v1, "Default ring topology"), shared with the
 * ingest's island-isolation rule; re-exported here so the simulators keep their import paths.
 */
export { DEFAULT_RING_TOPOLOGY, segmentsAt, type RingSegmentSpec, type RingTopology } from '@tsunagaru/firmware-contracts';
