import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerReadings } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { BUILTIN_REGISTER_MAPS, loadRegisterMap, type BuiltinRegisterMap } from './register-map-file.js';

describe('register map files', () => {
  it.each(Object.keys(BUILTIN_REGISTER_MAPS) as BuiltinRegisterMap[])('ships a valid map %s covering every readable reading', async (name) => {
    const map = await loadRegisterMap(name);
    expect(map.name).toBe(name);
    const readable = [...registerReadings(map.deviceType).keys()];
    expect(map.points.map((p) => p.reading).sort()).toEqual(readable.sort());
  });

  it('names the file and the field when a map is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-map-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, 'v: 1\nname: bad\ndeviceType: smart-pole\npoints:\n  - { reading: airTempC, table: input-register, address: 0, type: int16, scale: 0.1, unit: F }\n');
      await expect(loadRegisterMap(file)).rejects.toMatchObject({ code: 'EDGE_ERR_REGISTER_MAP', message: expect.stringMatching(/bad\.yaml: points\[0\]\.unit: the contract reports "airTempC" in °C/) as unknown });
      await writeFile(join(dir, 'broken.json'), '{ "v": 1,');
      await expect(loadRegisterMap(join(dir, 'broken.json'))).rejects.toMatchObject({ message: expect.stringMatching(/broken\.json: not valid JSON/) as unknown });
      await expect(loadRegisterMap(join(dir, 'missing.yaml'))).rejects.toMatchObject({ message: expect.stringMatching(/cannot read.*built-in map/) as unknown });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
