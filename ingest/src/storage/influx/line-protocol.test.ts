import { describe, expect, it } from 'vitest';
import { bsPowerSample, decodeField, READING_FIELDS, ringSegment, smartPoleSample, waterMeterSample } from '@tsunagaru/firmware-contracts';
import type { StorableMessage } from '../types.js';
import { messageLines, SeriesKeyCache } from './line-protocol.js';

const T0 = Date.UTC(2026, 10, 23);
const msg = (m: Partial<StorableMessage> & Pick<StorableMessage, 'type' | 'payload'>): StorableMessage =>
  ({ channel: 'telemetry', deviceId: 'd-1', receivedAt: T0, ...m }) as StorableMessage;

describe('InfluxDB line protocol and schema', () => {
  it('has a field for every reading of the contract (nothing dropped on the floor)', () => {
    const keys = (schema: object) => {
      const s = schema as { shape?: Record<string, unknown>; def?: { schema?: { shape: Record<string, unknown> } } };
      return Object.keys(s.shape ?? s.def?.schema?.shape ?? {}).filter((k) => k !== 'ts').sort();
    };
    expect(READING_FIELDS['smart-pole'].map((f) => f.name).sort()).toEqual(keys(smartPoleSample));
    expect(READING_FIELDS['water-meter'].map((f) => f.name).sort()).toEqual(keys(waterMeterSample));
    expect(READING_FIELDS['bs-power'].map((f) => f.name).sort()).toEqual(keys(bsPowerSample));
    expect(READING_FIELDS['ring-node'].map((f) => f.name).sort()).toEqual(keys(ringSegment).filter((k) => k !== 'id'));
  });

  it('writes floats without `i` (so 50 and 50.5 are one type), integers with `i`, enums as codes, alarms as a bitmask', () => {
    const attrs = { dma: 'nakano 3,east', site: 'x'.repeat(65), island: 7 };
    const [line] = messageLines(msg({ type: 'water-meter', payload: { v: 1, id: 'd-1', boot: 2, seq: 9, ts: T0, samples: [{ ts: T0, indexL: 1200, flowLph: 50, alarms: ['burst', 'leak'] }] } }), () => attrs);
    // Tags sorted; the dma with space and comma is left out (not a safe tag value), as is a 65-char site.
    expect(line).toBe(`water_meter,deviceId=d-1,island=7,type=water-meter indexL=1200i,flowLph=50,alarms=3i,boot=2i,seq=9i,replay=false ${T0}`);
    const [bs] = messageLines(msg({ type: 'bs-power', payload: { v: 1, id: 'd-1', boot: 0, seq: 0, ts: T0, replay: true, samples: [{ ts: T0, mains: 'on', generator: 'fault', batterySocPct: 50.5 }] } }), () => undefined);
    expect(bs).toBe(`bs_power,deviceId=d-1,type=bs-power mains=1i,batterySocPct=50.5,generator=3i,boot=0i,seq=0i,replay=true ${T0}`);
    const flags = READING_FIELDS['water-meter'].find((f) => f.name === 'alarms')!;
    expect(decodeField(flags, 3)).toEqual(['leak', 'burst']);
  });

  it('writes events with the event type as a tag and detail as an escaped string, unless string fields are off', () => {
    const event = { channel: 'event', type: 'bs-power', deviceId: 'd-1', receivedAt: T0, payload: { v: 1, id: 'd-1', boot: 1, seq: 4, ts: T0, type: 'mains_lost', detail: { note: 'say "hi"\\' } } } as StorableMessage;
    expect(messageLines(event, () => undefined)).toEqual([`device_event,deviceId=d-1,event=mains_lost,type=bs-power boot=1i,seq=4i,replay=false,detail="{\\"note\\":\\"say \\\\\\"hi\\\\\\"\\\\\\\\\\"}" ${T0}`]);
    expect(messageLines(event, () => undefined, { stringFields: false })[0]).toBe(`device_event,deviceId=d-1,event=mains_lost,type=bs-power boot=1i,seq=4i,replay=false ${T0}`);
  });

  it('writes one point per ring segment, tagged with the segment', () => {
    const lines = messageLines(msg({ type: 'ring-node', payload: { v: 1, id: 'd-1', boot: 0, seq: 1, ts: T0, samples: [{ ts: T0, segments: [{ id: 'oshima-toshima', state: 'up', rxDbm: -12 }, { id: 'toshima-niijima', state: 'down' }] }] } }), () => ({ island: 'oshima' }));
    expect(lines).toEqual([
      `ring_segment,deviceId=d-1,island=oshima,segment=oshima-toshima,type=ring-node state=2i,rxDbm=-12,boot=0i,seq=1i,replay=false ${T0}`,
      `ring_segment,deviceId=d-1,island=oshima,segment=toshima-niijima,type=ring-node state=0i,boot=0i,seq=1i,replay=false ${T0}`,
    ]);
  });

  it('reuses a device\'s series key while its attributes object is the same, and rebuilds it when the registry replaces it', () => {
    const registry = new Map<string, Record<string, unknown>>([['d-1', { dma: 'nakano-3' }], ['d-2', { dma: 'suginami-1' }], ['d-3', {}]]);
    const attributes = (id: string) => registry.get(id);
    const seriesKeys = new SeriesKeyCache(2); // smaller than the fleet: it is cleared and refilled on the way
    const meter = (deviceId: string, seq: number) =>
      msg({ deviceId, type: 'water-meter', payload: { v: 1, id: deviceId, boot: 1, seq, ts: T0 + seq, samples: [{ ts: T0 + seq, indexL: seq }] } });
    const both = (deviceId: string, seq: number) => [messageLines(meter(deviceId, seq), attributes, { seriesKeys }), messageLines(meter(deviceId, seq), attributes)];
    for (let seq = 0; seq < 3; seq++) {
      for (const id of ['d-1', 'd-2', 'd-3']) {
        const [cached, fresh] = both(id, seq);
        expect(cached).toEqual(fresh);
      }
    }
    expect(both('d-1', 3)[0]![0]).toMatch(/^water_meter,deviceId=d-1,dma=nakano-3,type=water-meter /);
    registry.set('d-1', { dma: 'nakano-4', island: 'oshima' }); // the registry writes a new object on change
    const [cached, fresh] = both('d-1', 4);
    expect(cached).toEqual(fresh);
    expect(cached![0]).toMatch(/^water_meter,deviceId=d-1,dma=nakano-4,island=oshima,type=water-meter /);
  });
});
