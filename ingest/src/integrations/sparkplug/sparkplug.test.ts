import sparkplug from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { SHIPPED_SPARKPLUG_MAPPINGS } from '../config.js';
import { parseMapping } from '../mapping-files.js';
import { bdSeqOf, EdgeNodeSession, unwrap } from './edge-node.js';
import { loadSparkplugMappings, sparkplugMappingSchema } from './mapping.js';
import { decodePayload, rebirthRequest } from './payload.js';

const mappings = loadSparkplugMappings(SHIPPED_SPARKPLUG_MAPPINGS);
const codec = sparkplug.get('spBv1.0')!;

describe('Sparkplug seq → ledger seq', () => {
  it('unwraps 255 → 0 forward, and places a late message below the highest', () => {
    expect(unwrap(0, 1)).toBe(1);
    expect(unwrap(255, 0)).toBe(256);
    expect(unwrap(300, 300 % 256)).toBe(300);
    expect(unwrap(510, 1)).toBe(513);
    expect(unwrap(260, 250)).toBe(250);
    expect(unwrap(3, 250)).toBe(250);
  });

  it('counts from the NBIRTH (ledger 0) whatever seq the NBIRTH had, and reports gaps', () => {
    const s = new EdgeNodeSession(2, 7, 200, mappings.get('dc-plant')!);
    expect(s.place(201)).toEqual({ ledgerSeq: 1, gap: null });
    expect(s.place(204)).toEqual({ ledgerSeq: 4, gap: [2, 3] });
    expect(s.place(202)).toEqual({ ledgerSeq: 2, gap: null });
    expect(s.missing(2, 3)).toBe(1);
    // 56 messages later the seq has wrapped past 255.
    expect(s.place(4)).toEqual({ ledgerSeq: 60, gap: [5, 59] });
  });
});

describe('metrics → readings (shipped dc-plant mapping)', () => {
  it('uses names from births and aliases after them, maps enumerations, drops a dead device\'s readings', () => {
    const s = new EdgeNodeSession(0, 0, 0, mappings.get('dc-plant')!);
    s.birth('', [
      { name: 'Mains/Present', alias: 1, value: true },
      { name: 'Rectifier/Voltage', alias: 2, value: 53.5 },
      { name: 'Node Control/Rebirth', value: false },
    ]);
    s.birth('Generator', [{ name: 'State', alias: 8, value: 0 }, { name: 'Fuel', alias: 9, value: 91 }]);
    expect(s.snapshot()).toEqual({ mains: 'on', rectifierV: 53.5, generator: 'off', fuelPct: 91 });
    expect(s.update('', [{ alias: 1, value: false }])).toEqual({ unknownAliases: 0, unmappable: [] });
    expect(s.update('Generator', [{ alias: 8, value: 2 }, { alias: 99, value: 1 }])).toEqual({ unknownAliases: 1, unmappable: [] });
    expect(s.snapshot()).toMatchObject({ mains: 'off', generator: 'running' });
    expect(s.update('Generator', [{ alias: 8, value: 7 }]).unmappable).toEqual(['generator: value 7 is not in its map (0, 1, 2, 3)']);
    s.deviceDeath('Generator');
    expect(s.snapshot()).toEqual({ mains: 'off', rectifierV: 53.5 });
  });
});

describe('Sparkplug payloads (Eclipse Tahu sparkplug-payload)', () => {
  it('decodes 64-bit values as numbers and reads bdSeq', () => {
    const bytes = codec.encodePayload({ timestamp: 1_780_000_000_000, seq: 255, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 12 }, { name: 'Outlet/Totalizer', alias: 3, type: 'UInt64', value: 40_000_123 }] });
    const d = decodePayload(bytes);
    expect(d).toEqual({ ok: true, payload: { seq: 255, timestamp: 1_780_000_000_000, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 12 }, { name: 'Outlet/Totalizer', alias: 3, type: 'UInt64', value: 40_000_123 }] } });
    expect(bdSeqOf((d as unknown as { payload: never }).payload)).toBe(12);
    expect(decodePayload(Buffer.from('{"json":true}'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not a Sparkplug B payload/) });
  });

  it('asks for a rebirth as Sparkplug 3.0 says: Node Control/Rebirth = true', () => {
    expect(codec.decodePayload(rebirthRequest(5)).metrics).toEqual([expect.objectContaining({ name: 'Node Control/Rebirth', type: 'Boolean', value: true })]);
  });
});

describe('Sparkplug mapping files', () => {
  it('name the file and field of a mistake', () => {
    const bad = (yaml: string) => () => parseMapping(sparkplugMappingSchema, yaml, 'site.yaml');
    expect(bad('profile: p\ntype: bs-power\nmodel: m\nsampleSec: 60\nnode: { A: volts }\n')).toThrow(/site\.yaml: node\.A: "volts" is not a bs-power reading/);
    expect(bad('profile: p\ntype: bs-power\nmodel: m\nsampleSec: 60\ndevices: { Battery: { SOC: { field: soc } } }\n')).toThrow(/site\.yaml: devices\.Battery\.SOC\.field: "soc" is not a bs-power reading/);
    expect(bad('profile: p\ntype: water-meter\nmodel: m\nsampleSec: 60\ndevices: { Meter: { Total: indexL } }\n')).toThrow(/site\.yaml: node: a water-meter profile must map indexL from an edge-node metric/);
    expect(bad('profile: "a b"\ntype: bs-power\nmodel: m\nsampleSec: 60\nnode: { A: loadA }\n')).toThrow(/site\.yaml: profile: must be 1-64/);
  });
});
