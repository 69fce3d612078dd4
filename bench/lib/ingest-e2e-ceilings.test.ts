import { describe, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { messageLines } from '@tsunagaru/ingest';
import { loadAsLineBodies } from './ingest-e2e-ceilings.js';
import { prepareLoad } from './ingest-e2e-load.js';

describe('loadAsLineBodies (the store ceiling of ingest-e2e)', () => {
  const devices = [{ id: 'wm-a', secret: 's' }, { id: 'wm-b', secret: 's' }];

  it.each([
    ['live', 1],
    ['replay', 60],
  ] as const)('writes exactly the lines our InfluxDB writer writes for the same %s load', (key, samplesPerMessage) => {
    const load = prepareLoad(devices, { key, samplesPerMessage, messages: 10 }, 1_700_000_000_000);
    const ours = [...load.payloads].flatMap(([deviceId, payloads]) =>
      payloads.flatMap((p) =>
        messageLines({ channel: 'telemetry', type: 'water-meter', deviceId, payload: JSON.parse(p.toString()) as Telemetry, receivedAt: 0 }, () => ({ dma: 'bench-e2e' })),
      ),
    );
    const bodies = loadAsLineBodies(load, 'water_meter', 'bench-e2e', 7);
    expect(bodies.join('\n').split('\n')).toEqual(ours);
    expect(ours).toHaveLength(10 * samplesPerMessage);
    expect(bodies.every((b) => b.split('\n').length <= 7)).toBe(true);
  });
});
