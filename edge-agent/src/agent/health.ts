import type { BufferStats } from '../buffer/types.js';
import type { BusStats } from '../modbus/bus.js';
import type { EdgeAgent } from './agent.js';
import type { ForwarderStats } from './forwarder.js';
import type { SamplerStats } from './sampler.js';

/** One line an operator reads: is it connected, how much is queued, when did it last publish, is the bus healthy. */
export interface HealthReport {
  deviceId: string;
  connected: boolean;
  boot: number | undefined;
  sampleSec: number;
  queue: Pick<BufferStats, 'pending' | 'pendingSamples' | 'openBatch' | 'bytes' | 'maxBytes' | 'droppedMessages' | 'droppedSamples' | 'oldestPendingTs'>;
  publish: Pick<ForwarderStats, 'published' | 'publishedSamples' | 'inFlight' | 'publishErrors'> & { lastPublishAt: string | null };
  modbus: Pick<BusStats, 'requests' | 'failures' | 'timeouts' | 'exceptions' | 'ioErrors' | 'refused' | 'queueDepth'> & { lastError: string | null };
  sampling: Pick<SamplerStats, 'samples' | 'emptyPolls' | 'readFailures' | 'overruns'>;
  rssMiB: number;
}

export function healthReport(agent: EdgeAgent): HealthReport {
  const b = agent.buffer.stats();
  const f = agent.forwarder.stats();
  const m = agent.bus.stats();
  const s = agent.sampler.stats();
  return {
    deviceId: agent.config.device.id,
    connected: agent.session.connected,
    boot: agent.session.boot,
    sampleSec: agent.sampleIntervalSec,
    queue: { pending: b.pending, pendingSamples: b.pendingSamples, openBatch: b.openBatch, bytes: b.bytes, maxBytes: b.maxBytes, droppedMessages: b.droppedMessages, droppedSamples: b.droppedSamples, oldestPendingTs: b.oldestPendingTs },
    publish: { published: f.published, publishedSamples: f.publishedSamples, inFlight: f.inFlight, publishErrors: f.publishErrors, lastPublishAt: f.lastPublishAt === undefined ? null : new Date(f.lastPublishAt).toISOString() },
    modbus: { requests: m.requests, failures: m.failures, timeouts: m.timeouts, exceptions: m.exceptions, ioErrors: m.ioErrors, refused: m.refused, queueDepth: m.queueDepth, lastError: m.lastError?.message ?? null },
    sampling: { samples: s.samples, emptyPolls: s.emptyPolls, readFailures: s.readFailures, overruns: s.overruns },
    rssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
}
