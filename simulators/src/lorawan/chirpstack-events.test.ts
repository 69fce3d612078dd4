import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { ackEvent, chirpstackTime, joinEvent, seededUuid, statusEvent, txAckEvent, upEvent } from './chirpstack-events.js';

const documented = (name: string) => JSON.parse(readFileSync(new URL(`../../../ingest/src/integrations/chirpstack/fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** The key structure of a JSON value (objects by key, arrays by their first item), values left out. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 0 ? [shape(v[0])] : [];
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

describe('simulated ChirpStack events have the documented shape', () => {
  const rng = new Rng(1);
  const info = (documented('up') as { deviceInfo: never }).deviceInfo;
  const at = Date.parse('2026-07-18T09:34:15.775Z');

  it('up, join, status, ack, txack', () => {
    const up = upEvent({ deduplicationId: seededUuid(rng), time: at, deviceInfo: info, devAddr: '00189440', dr: 1, fCnt: 7, fPort: 1, data: Buffer.from([1]), object: { volumeL: 1, flowLph: 2, batteryPct: 3 }, rx: [{ gatewayId: 'a', rssi: -36, snr: 10.5 }], frequency: 923200000 });
    const { metadata: _m, ...rx } = (documented('up') as { rxInfo: Array<Record<string, unknown>> }).rxInfo[0]!;
    expect(shape({ ...up, rxInfo: [{ ...up.rxInfo[0]!, metadata: undefined }] })).toEqual(shape({ ...documented('up'), rxInfo: [{ ...rx, metadata: undefined }] }));
    expect(shape(joinEvent({ deduplicationId: seededUuid(rng), time: at, deviceInfo: info, devAddr: '00189440' }))).toEqual(shape(documented('join')));
    expect(shape(statusEvent({ deduplicationId: seededUuid(rng), time: at, deviceInfo: info, margin: 10, batteryLevel: 88.3 }))).toEqual(shape({ ...documented('status'), deviceInfo: info }));
    expect(shape(ackEvent({ deduplicationId: seededUuid(rng), time: at, deviceInfo: info, queueItemId: seededUuid(rng), acknowledged: true, fCntDown: 3 }))).toEqual(shape(documented('ack')));
    expect(shape(txAckEvent({ downlinkId: 1, time: at, deviceInfo: info, queueItemId: seededUuid(rng), fCntDown: 2, gatewayId: 'a' }))).toEqual(shape(documented('txack')));
  });

  it('leaves out fields at their default value (protobuf JSON mapping) and writes time as ChirpStack does', () => {
    const up = upEvent({ deduplicationId: 'd', time: at, deviceInfo: info, devAddr: '0', dr: 0, fCnt: 0, fPort: 1, data: Buffer.alloc(0), object: {}, rx: [], frequency: 1 });
    expect('fCnt' in up).toBe(false);
    expect('dr' in up).toBe(false);
    expect('acknowledged' in ackEvent({ deduplicationId: 'd', time: at, deviceInfo: info, queueItemId: 'q', acknowledged: false, fCntDown: 0 })).toBe(false);
    expect(chirpstackTime(at)).toBe('2026-07-18T09:34:15.775000000+00:00');
    expect(seededUuid(new Rng(3))).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
