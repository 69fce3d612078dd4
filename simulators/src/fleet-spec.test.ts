import { isValidDeviceId } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { defaultFleet } from './fleet-spec.js';

describe('defaultFleet', () => {
  const fleet = defaultFleet();
  const ofType = (type: string) => fleet.filter((d) => d.type === type);

  it('has 3 poles, 6 meters (and the inlet meter of each of their 2 DMAs), 2 power plants and 2 ring nodes with unique, valid ids', () => {
    expect([ofType('smart-pole').length, ofType('water-meter').length, ofType('bs-power').length, ofType('ring-node').length]).toEqual([3, 6 + 2, 2, 2]);
    expect(ofType('water-meter').filter((d) => d.attributes.site === 'dma-inlet').map((d) => d.attributes.dma)).toEqual(['shinjuku-n1', 'shinjuku-n2']);
    expect(new Set(fleet.map((d) => d.id)).size).toBe(fleet.length);
    for (const d of fleet) expect(isValidDeviceId(d.id)).toBe(true);
  });

  it('holds no secrets', () => {
    expect(JSON.stringify(fleet).toLowerCase()).not.toMatch(/secret|password/);
  });

  it('places the poles in Nishi-Shinjuku', () => {
    for (const d of ofType('smart-pole')) {
      expect(d.id).toMatch(/^pole-nishishinjuku-\d\d$/);
      expect(d.attributes.site).toBe('nishi-shinjuku');
      expect(Math.abs((d.location?.lat ?? 0) - 35.69)).toBeLessThan(0.01);
      expect(Math.abs((d.location?.lon ?? 0) - 139.692)).toBeLessThan(0.01);
    }
  });

  it('splits the meters over two DMAs with one household watched over', () => {
    const dmas = ofType('water-meter').map((d) => d.attributes.dma);
    expect(new Set(dmas)).toEqual(new Set(['shinjuku-n1', 'shinjuku-n2']));
    expect(ofType('water-meter').filter((d) => d.attributes.welfareWatch === true)).toHaveLength(1);
  });

  it('has one VRLA and one Li-ion plant, and ring nodes on the two gateway islands', () => {
    const batteries = fleet.flatMap((d) => (d.type === 'bs-power' ? [d.simulation?.battery] : []));
    expect(batteries.sort()).toEqual(['li-ion', 'vrla']);
    for (const d of ofType('bs-power')) expect(typeof d.attributes.site).toBe('string');
    expect(ofType('ring-node').map((d) => d.attributes.island)).toEqual(['oshima', 'miyakejima']);
  });

  it('returns a fresh copy each time', () => {
    const a = defaultFleet();
    a[0]!.attributes.site = 'changed';
    expect(defaultFleet()[0]?.attributes.site).toBe('nishi-shinjuku');
  });
});
