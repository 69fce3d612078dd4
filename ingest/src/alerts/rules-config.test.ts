import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_RULES, loadAlertRulesFile, parseAlertRules, RULE_IDS } from './rules-config.js';

const fails = (input: unknown) => {
  try {
    parseAlertRules(input);
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('expected the rules to be refused');
};

describe('alert rules config', () => {
  it('has a default for every rule, frozen', () => {
    expect(Object.keys(DEFAULT_ALERT_RULES.rules).sort()).toEqual([...RULE_IDS].sort());
    expect(DEFAULT_ALERT_RULES.rules['ring-island-isolated']).toEqual({ enabled: true, severity: 'critical', group: 'disaster', onDelaySec: 0, offDelaySec: 0 });
    expect(Object.isFrozen(DEFAULT_ALERT_RULES.bsPower.chemistries)).toBe(true);
    expect(DEFAULT_ALERT_RULES.ring.topology.gateways).toEqual(['oshima', 'miyakejima']);
  });

  it('merges a partial file with the defaults at every depth', () => {
    const c = parseAlertRules({ rules: { 'water-leak': { severity: 'major' } }, bsPower: { chemistries: { vrla: { peukertK: 1.25 } } }, water: { night: { baselinesLph: { 'toyosu-1': 120 } } } });
    expect(c.rules['water-leak']).toMatchObject({ severity: 'major', group: 'water', enabled: true });
    expect(c.bsPower.chemistries.vrla).toEqual({ peukertK: 1.25, cells: 24, backstopVoltsPerCell: 1.85 });
    expect(c.bsPower.chemistries['li-ion']).toEqual({ peukertK: 1.03, cells: 16, backstopVoltsPerCell: 3 });
    expect(c.water.night).toMatchObject({ startHour: 2, baselinesLph: { 'toyosu-1': 120 } });
  });

  it('names the field in every error, with a stable code', () => {
    expect(fails({ rules: { 'water-leak': { severity: 'huge' } } })).toEqual({ code: 'INGEST_ERR_ALERT_CONFIG', message: 'rules.water-leak.severity: must be one of critical, major, minor, warning, indeterminate, got "huge"' });
    expect(fails({ rules: { 'water-leek': {} } }).message).toMatch(/^rules\.water-leek: unknown field; expected one of device-offline, /);
    expect(fails({ water: { burstSharePct: 500 } }).message).toBe('water.burstSharePct: must be ≤ 100, got 500');
    expect(fails({ bsPower: { defaultChemistry: 'nicd' } }).message).toMatch(/^bsPower\.defaultChemistry: must be one of the chemistries/);
    expect(fails({ ring: { topology: { gateways: ['hachijojima'] } } }).message).toBe('ring.topology.gateways[0]: "hachijojima" is not one of the islands');
    expect(fails({ notifications: { webhooks: [{ name: 'ops', url: 'ftp://x' }] } }).message).toMatch(/^notifications\.webhooks\[0\]\.url: must be an http/);
    expect(fails({ silence: { k: '3' } }).message).toBe('silence.k: must be a number, got "3"');
  });

  it('loads JSON and YAML files and prefixes errors with the path of the file', () => {
    const path = join(tmpdir(), `alert-rules-${process.pid}.json`);
    writeFileSync(path, JSON.stringify({ pole: { cabinetMajorC: 55 } }));
    expect(loadAlertRulesFile(path).pole.cabinetMajorC).toBe(55);
    writeFileSync(path, JSON.stringify({ pole: { cabinetMajorC: 'hot' } }));
    expect(() => loadAlertRulesFile(path)).toThrow(`${path}: pole.cabinetMajorC: must be a number, got "hot"`);
    const yamlPath = join(tmpdir(), `alert-rules-${process.pid}.yaml`);
    writeFileSync(yamlPath, 'rules:\n  water-leak:\n    severity: major\nwater:\n  welfareNoUseHours: 24\n');
    expect(loadAlertRulesFile(yamlPath)).toMatchObject({ rules: { 'water-leak': { severity: 'major' } }, water: { welfareNoUseHours: 24 } });
    writeFileSync(yamlPath, 'rules:\n  water-leak:\n    severity: [\n');
    expect(() => loadAlertRulesFile(yamlPath)).toThrow(/invalid YAML/);
  });
});
