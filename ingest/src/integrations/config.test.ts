import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadIntegrationsConfig } from './config.js';

describe('integration settings (CHIRPSTACK*, SPARKPLUG*)', () => {
  it('are off unless asked for, and read the shipped mapping files when on', () => {
    expect(loadIntegrationsConfig({})).toEqual({});
    const c = loadIntegrationsConfig({ CHIRPSTACK: 'on', SPARKPLUG: 'on', SPARKPLUG_GROUPS: 'city, water', CHIRPSTACK_APPLICATION_IDS: '' });
    expect([...c.chirpstack!.mappings.keys()]).toEqual(['water-meter-index']);
    expect([...c.sparkplug!.mappings.keys()].sort()).toEqual(['dc-plant', 'pump-station']);
    expect(c.sparkplug).toMatchObject({ groups: ['city', 'water'], hostId: 'tsunagaru', reorderTimeoutMs: 2000 });
    expect(c.chirpstack!.applicationIds).toEqual([]);
  });

  it('name the variable and what it must be', () => {
    expect(() => loadIntegrationsConfig({ CHIRPSTACK: 'yes' })).toThrow('CHIRPSTACK: must be on or off, got "yes"');
    expect(() => loadIntegrationsConfig({ CHIRPSTACK: 'on', CHIRPSTACK_MQTT_URL: 'http://x' })).toThrow(/^CHIRPSTACK_MQTT_URL: must start with mqtt:\/\//);
    expect(() => loadIntegrationsConfig({ SPARKPLUG: 'on', SPARKPLUG_GROUPS: 'a,b/c' })).toThrow(/^SPARKPLUG_GROUPS: each group id must be/);
    expect(() => loadIntegrationsConfig({ SPARKPLUG: 'on', SPARKPLUG_REORDER_TIMEOUT_MS: '1.5' })).toThrow(/^SPARKPLUG_REORDER_TIMEOUT_MS: must be whole milliseconds/);
    expect(() => loadIntegrationsConfig({ CHIRPSTACK: 'on', CHIRPSTACK_MAPPINGS_DIR: '/nonexistent/dir' })).toThrow(/^CHIRPSTACK_MAPPINGS_DIR: cannot read the mapping directory/);
  });

  it('refuse two mapping files for one device profile, naming both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-mappings-'));
    try {
      const m = 'deviceProfileName: meters\ntype: water-meter\nsampleSec: 60\nfields: { indexL: object.v }\n';
      writeFileSync(join(dir, 'a.yaml'), m);
      writeFileSync(join(dir, 'b.yml'), m);
      expect(() => loadIntegrationsConfig({ CHIRPSTACK: 'on', CHIRPSTACK_MAPPINGS_DIR: dir })).toThrow(/b\.yml: deviceProfileName: "meters" is already mapped by .*a\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
