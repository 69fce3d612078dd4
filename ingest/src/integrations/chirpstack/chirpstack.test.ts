import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMapping } from '../mapping-files.js';
import { SHIPPED_CHIRPSTACK_MAPPINGS } from '../config.js';
import { downlinkFor, sampleFromUplink } from './convert.js';
import { ackEventSchema, bestReception, joinEventSchema, statusEventSchema, txAckEventSchema, upEventSchema } from './events.js';
import { chirpStackMappingSchema, loadChirpStackMappings } from './mapping.js';
import { judgeJoin, judgeUplink, withSession, type LoraDeviceState } from './sessions.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const mapping = loadChirpStackMappings(SHIPPED_CHIRPSTACK_MAPPINGS).get('water-meter-index')!;
const T = (iso: string) => Date.parse(iso);

describe('ChirpStack events in the documented shape (fixtures from the ChirpStack docs)', () => {
  it('reads every documented event type', () => {
    expect(upEventSchema.parse(fixture('up'))).toMatchObject({ fCnt: 7, deviceInfo: { devEui: '0101010101010101', deviceProfileName: 'water-meter-index' } });
    expect(joinEventSchema.parse(fixture('join'))).toMatchObject({ devAddr: '00189440' });
    expect(statusEventSchema.parse(fixture('status'))).toMatchObject({ margin: 10, batteryLevel: 88.3, externalPowerSource: false, batteryLevelUnavailable: false });
    expect(ackEventSchema.parse(fixture('ack'))).toMatchObject({ acknowledged: true, fCntDown: 3 });
    expect(txAckEventSchema.parse(fixture('txack'))).toMatchObject({ fCntDown: 2 });
  });

  it('reads fields left out at their default value (protobuf JSON mapping) as that value', () => {
    const { fCnt: _f, ...up } = fixture('up');
    expect(upEventSchema.parse(up).fCnt).toBe(0);
    const { acknowledged: _a, ...nack } = fixture('ack');
    expect(ackEventSchema.parse(nack).acknowledged).toBe(false);
  });

  it('keeps the best gateway (highest SNR) as link quality', () => {
    expect(bestReception(upEventSchema.parse(fixture('up')).rxInfo)).toEqual({ rssiDbm: -36, snrDb: 10.5, gatewayId: '0016c001f153a14c' });
    expect(bestReception([{ rssi: -120, snr: -5 }, { rssi: -100, snr: -5 }, { rssi: -90 }])).toEqual({ rssiDbm: -100, snrDb: -5 });
  });
});

describe('up → sample (the shipped water-meter-index mapping)', () => {
  it('maps object.volumeL → indexL, flowLph, batteryPct, with the uplink time and link quality', () => {
    const up = upEventSchema.parse(fixture('up'));
    expect(sampleFromUplink(up, mapping, T(up.time))).toEqual({ ok: true, value: { ts: T('2026-07-18T09:34:15.775Z'), indexL: 12345, flowLph: 200, batteryPct: 90, rssiDbm: -36, snrDb: 10.5 } });
  });

  it('scales (m³ → L) without binary noise', () => {
    const m = chirpStackMappingSchema.parse({ deviceProfileName: 'm3', type: 'water-meter', sampleSec: 900, fields: { indexL: { from: 'object.volumeM3', scale: 1000 } } });
    const up = upEventSchema.parse({ ...fixture('up'), object: { volumeM3: 1.2 } });
    expect(sampleFromUplink(up, m, 1).ok && (sampleFromUplink(up, m, 1) as { value: Record<string, unknown> }).value.indexL).toBe(1200);
  });

  it('says what is missing: no decoded object, or the required reading', () => {
    const { object: _o, ...raw } = fixture('up');
    expect(sampleFromUplink(upEventSchema.parse(raw), mapping, 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/^undecodable: the up event has no decoded object \(fPort 1\)/) });
    expect(sampleFromUplink(upEventSchema.parse({ ...fixture('up'), object: { flowLph: 1 } }), mapping, 1)).toMatchObject({ ok: false, reason: 'mapping "water-meter-index": indexL ← object.volumeL: not in the decoded object (it has flowLph)' });
  });
});

describe('LoRaWAN sessions → (boot, seq)', () => {
  const base = { devEui: '0101010101010101', applicationId: 'app' };
  const after = (state: LoraDeviceState | undefined, v: ReturnType<typeof judgeJoin>) => (v.kind === 'new' ? withSession(state, base, v.session) : state);

  it('numbers boots by join, counts a redelivered join once, and seq from fCnt', () => {
    let state: LoraDeviceState | undefined;
    const j1 = judgeJoin(state, 'join-1', 1000);
    expect(j1).toMatchObject({ kind: 'new', session: { boot: 0, fcntBase: 0 } });
    state = after(state, j1);
    expect(judgeJoin(state, 'join-1', 1000)).toMatchObject({ kind: 'same', session: { boot: 0 } });
    expect(judgeUplink(state, 5, 2000)).toMatchObject({ verdict: { kind: 'same', session: { boot: 0 } }, seq: 5 });
    state = after(state, judgeJoin(state, 'join-2', 10_000));
    expect(judgeUplink(state, 0, 11_000)).toMatchObject({ verdict: { session: { boot: 1 } }, seq: 0 });
    // A late batch: an uplink sent before the rejoin is counted in the session it was sent in.
    expect(judgeUplink(state, 9, 9_000)).toMatchObject({ verdict: { session: { boot: 0 } }, seq: 9 });
    expect(judgeJoin(state, 'join-0', 500)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/older than the meter's latest join/) });
  });

  it('counts a meter first heard mid-session from the first frame heard, not from 0', () => {
    const first = judgeUplink(undefined, 500, 1000);
    expect(first).toMatchObject({ verdict: { kind: 'new', session: { boot: 0, joinedAt: null, fcntBase: 500 } }, seq: 0 });
    const state = withSession(undefined, base, (first.verdict as unknown as { session: never }).session);
    expect(judgeUplink(state, 503, 2000).seq).toBe(3);
    expect(judgeUplink(state, 499, 500)).toMatchObject({ verdict: { kind: 'refused', reason: expect.stringMatching(/fCnt 499 is below 500/) } });
  });
});

describe('commands → ChirpStack downlinks', () => {
  const cmd = { v: 1 as const, cmdId: 'cmd-1bbcab1d-6ec6-4136-b3f5-d63be1dc08de', name: 'set_sample_interval' as const, args: { sec: 1800 }, ts: 1 };

  it('encodes bytes (opcode 0x01, u32 BE seconds) with our command id as the queue item id', () => {
    expect(downlinkFor(cmd, '0101010101010101', mapping.commands!.set_sample_interval!)).toEqual({
      ok: true,
      value: { id: '1bbcab1d-6ec6-4136-b3f5-d63be1dc08de', devEui: '0101010101010101', confirmed: true, fPort: 10, data: Buffer.from([0x01, 0x00, 0x00, 0x07, 0x08]).toString('base64') },
    });
  });

  it('fills an object template for ChirpStack\'s codec, and refuses a value too wide for its bytes', () => {
    const m = chirpStackMappingSchema.parse({ deviceProfileName: 'x', type: 'water-meter', sampleSec: 60, fields: { indexL: 'object.v' }, commands: { set_sample_interval: { fPort: 2, object: { interval: '$args.sec', unit: 's' } }, ping: { fPort: 3, bytes: [{ u8: 'args.sec' }] } } });
    expect(downlinkFor(cmd, 'aa', m.commands!.set_sample_interval!)).toMatchObject({ ok: true, value: { object: { interval: 1800, unit: 's' }, confirmed: true } });
    expect(downlinkFor(cmd, 'aa', m.commands!.ping!)).toMatchObject({ ok: false, reason: expect.stringMatching(/u8 args\.sec must be an integer 0\.\.255, got 1800/) });
  });
});

describe('mapping files', () => {
  it('name the file and the field of a mistake', () => {
    const bad = (yaml: string) => () => parseMapping(chirpStackMappingSchema, yaml, 'meters.yaml');
    expect(bad('deviceProfileName: p\ntype: water-meter\nsampleSec: 60\nfields: { flowLph: object.f }\n')).toThrow('meters.yaml: fields.indexL: is required: every water-meter sample carries indexL (contract v1)');
    expect(bad('deviceProfileName: p\ntype: water-meter\nsampleSec: 60\nfields: { indexL: object.v, humidity: object.h }\n')).toThrow(/meters\.yaml: fields\.humidity: not a water-meter reading; one of indexL, flowLph/);
    expect(bad('deviceProfileName: p\ntype: water-meter\nsampleSec: 60\nfields: { indexL: "object volume" }\n')).toThrow(/meters\.yaml: fields\.indexL: .*dotted path/);
    expect(bad('deviceProfileName: p\ntype: water-meter\nsampleSec: 60\nfields: { indexL: object.v }\ncommands: { reboot: { fPort: 0, bytes: [{ hex: "00" }] } }\n')).toThrow(/meters\.yaml: commands\.reboot\.fPort: /);
    expect(bad('deviceProfileName: p\ntype: water-meter\nsampleSec: 60\nfields: { indexL: object.v }\ncommands: { ping: { fPort: 1 } }\n')).toThrow(/commands\.ping: give exactly one of object .* or bytes/);
    expect(bad('type: [\n')).toThrow(/meters\.yaml: not valid YAML/);
  });
});
