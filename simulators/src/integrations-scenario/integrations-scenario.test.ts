/**
 * The integrations scenario (issue 20): the shipped example runs against our broker and ingest (the
 * embedded shape, integration principals), and every device's ledger, boot by boot, shows exactly the
 * frames and messages the simulators dropped; a wrong scenario file names the field.
 */
import { describe, expect, it } from 'vitest';
import { loadIntegrationsScenario, parseIntegrationsScenario } from './schema.js';
import { runIntegrationsScoredScenario } from './scored-run.js';

describe('integrations scenario', () => {
  it('runs the example: the ledger gaps equal the frames and messages the simulators dropped, boot by boot', { timeout: 180_000 }, async () => {
    const scenario = await loadIntegrationsScenario('simulators/scenarios/lpwa-and-plants.yaml');
    const r = await runIntegrationsScoredScenario({ scenario });
    const s = r.scorecard;
    // A run that dropped nothing, or made no new boot, would prove nothing.
    expect(s.expectedMissing).toBeGreaterThan(10);
    expect(r.rebirthRequests).toBeGreaterThanOrEqual(1);
    expect(s.devices.filter((d) => d.integration === 'chirpstack')).toHaveLength(6);
    expect(s.devices.filter((d) => d.integration === 'sparkplug')).toHaveLength(2);
    // Rejoins made new boots for every meter; the host's rebirth request one for an edge node at least.
    for (const d of s.devices.filter((x) => x.integration === 'chirpstack')) expect(d.boots.length, d.deviceId).toBe(3);
    expect(s.devices.some((d) => d.integration === 'sparkplug' && d.boots.length >= 2)).toBe(true);
    for (const d of s.devices) {
      for (const b of d.boots) expect({ device: d.deviceId, boot: b.boot, received: b.received, missing: b.missing }).toEqual({ device: d.deviceId, boot: b.boot, received: b.expectedReceived, missing: b.expectedMissing });
    }
    expect(s.ledgerMissing).toBe(s.expectedMissing);
    expect(s.ok).toBe(true);
  });

  it('names the field of a mistake', () => {
    expect(() => parseIntegrationsScenario({ kind: 'integrations', name: 'x', chirpstack: { applicationId: 'app', meters: 0, frames: 10 } }, 'bad.yaml')).toThrow(/^bad\.yaml: chirpstack\.meters: /m);
    expect(() => parseIntegrationsScenario({ kind: 'integrations', name: 'x', sparkplug: { group: 'city', rounds: 5 } }, 'bad.yaml')).toThrow(/bad\.yaml: sparkplug\.pumpStations: give at least one pump station or DC plant/);
    expect(() => parseIntegrationsScenario({ kind: 'integrations', name: 'x' }, 'bad.yaml')).toThrow(/bad\.yaml: chirpstack: give chirpstack, sparkplug or both/);
    expect(() => parseIntegrationsScenario({ kind: 'integrations', name: 'x', chirpstack: { applicationId: 'app', meters: 1, frames: 10, lateBatch: { from: 4, to: 2 } } }, 'bad.yaml')).toThrow(/bad\.yaml: chirpstack\.lateBatch\.to: to must be greater than from/);
    expect(() => parseIntegrationsScenario({ kind: 'integrations', name: 'x', chirpstack: { applicationId: 'app', meters: 1, frames: 10, loss: 0.1 } }, 'bad.yaml')).toThrow(/bad\.yaml: chirpstack: Unrecognized key: "loss"/);
  });
});
