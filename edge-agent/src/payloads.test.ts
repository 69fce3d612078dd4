import { describe, expect, it } from 'vitest';
import { isEdgeAgentError } from './errors.js';
import { birthPayload, deathPayload, encode, telemetryPayload } from './payloads.js';

const ts = 1_750_000_000_000;

describe('payload builders', () => {
  it('stamps telemetry with the first sample time', () => {
    const p = telemetryPayload<'water-meter'>({ id: 'm', boot: 1, seq: 4 }, [{ ts, indexL: 10 }, { ts: ts + 900_000, indexL: 12 }]);
    expect(p).toEqual({ v: 1, id: 'm', boot: 1, seq: 4, ts, samples: [{ ts, indexL: 10 }, { ts: ts + 900_000, indexL: 12 }] });
    expect(telemetryPayload<'water-meter'>({ id: 'm', boot: 1, seq: 4 }, [{ ts, indexL: 1 }], true).replay).toBe(true);
  });

  it('refuses empty telemetry even with validation off', () => {
    expect(() => telemetryPayload({ id: 'm', boot: 1, seq: 0 }, [])).toThrow(/at least 1/);
  });

  it('builds birth and death as the contract shows them', () => {
    expect(birthPayload('p', 3, ts, { fw: '1.0.0', model: 'X', sampleSec: 60 })).toEqual({ v: 1, id: 'p', state: 'online', boot: 3, ts, fw: '1.0.0', model: 'X', sampleSec: 60 });
    expect(deathPayload('p', 3)).toEqual({ v: 1, id: 'p', state: 'offline', boot: 3 });
  });
});

describe('encode', () => {
  it('names the offending field when validation is on', () => {
    const bad = { v: 1, id: 'pole-1', boot: 0, seq: 0, ts, samples: [{ ts, humidityPct: 140 }] };
    try {
      encode('smart-pole', 'pole-1', 'telemetry', bad, true);
      expect.unreachable();
    } catch (err) {
      expect(isEdgeAgentError(err, 'EDGE_ERR_INVALID_PAYLOAD')).toBe(true);
      expect((err as Error).message).toContain('samples[0].humidityPct');
      expect((err as Error).message).toContain('pole-1');
    }
  });

  it('skips the contract check when validation is off but still enforces the size limit', () => {
    const bad = { v: 1, id: 'pole-1', boot: 0, seq: 0, ts, samples: [{ ts, humidityPct: 140 }] };
    expect(encode('smart-pole', 'pole-1', 'telemetry', bad, false).topic).toBe('tsunagaru/v1/smart-pole/pole-1/telemetry');
    const huge = { ...bad, samples: [{ ts, note: 'x'.repeat(70_000) }] };
    expect(() => encode('smart-pole', 'pole-1', 'telemetry', huge, false)).toThrow(/65536-byte limit/);
  });
});
