import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, type Principal } from '../acl.js';
import { checkIntegrationScope } from './integration-scope.js';
import { parseSparkplugTopic } from './integration-acl.js';

const APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
const chirpstack: Principal = { kind: 'integration', username: 'chirpstack-city', scope: { type: 'chirpstack', applicationId: APP }, secretHash: 'h' };
const group: Principal = { kind: 'integration', username: 'sparkplug-water', scope: { type: 'sparkplug', groupId: 'water' }, secretHash: 'h' };
const oneNode: Principal = { kind: 'integration', username: 'sparkplug-ps7', scope: { type: 'sparkplug', groupId: 'water', edgeNodeId: 'ps-7' }, secretHash: 'h' };
const ingest: Principal = { kind: 'service', username: 'tsunagaru-ingest', role: 'ingest', secretHash: 'h' };

describe('integration principals (issue 20)', () => {
  it.each([
    [`application/${APP}/device/0101010101010101/event/up`, false, true],
    [`application/${APP}/device/0101010101010101/event/join`, false, true],
    [`application/${APP}/device/0101010101010101/event/up`, true, false],
    [`application/other-app/device/0101010101010101/event/up`, false, false],
    [`application/${APP}/device/+/event/up`, false, false],
    [`application/${APP}/device/0101010101010101/event/up/x`, false, false],
    [`application/${APP}/device/0101010101010101/command/down`, false, false],
    ['tsunagaru/v1/water-meter/wm-1/telemetry', false, false],
    ['spBv1.0/water/NDATA/ps-7', false, false],
  ])('ChirpStack publishing %s (retain %s): allowed=%s', (topic, retain, allowed) => {
    expect(canPublish(chirpstack, topic, retain).ok).toBe(allowed);
  });

  it.each([
    [`application/${APP}/device/+/command/down`, true],
    [`application/${APP}/device/0101010101010101/command/down`, true],
    [`application/${APP}/device/+/event/+`, false],
    ['application/+/device/+/command/down', false],
    [`application/other/device/+/command/down`, false],
    ['#', false],
    ['tsunagaru/v1/#', false],
  ])('ChirpStack subscribing %s: allowed=%s', (filter, allowed) => {
    expect(canSubscribe(chirpstack, filter).ok).toBe(allowed);
  });

  it.each([
    [group, 'spBv1.0/water/NBIRTH/ps-7', false, true],
    [group, 'spBv1.0/water/NDATA/ps-9', false, true],
    [group, 'spBv1.0/water/DDATA/ps-7/outlet', false, true],
    [group, 'spBv1.0/water/NDEATH/ps-7', false, true],
    [group, 'spBv1.0/water/NDEATH/ps-7', true, false],
    [group, 'spBv1.0/power/NDATA/ps-7', false, false],
    [group, 'spBv1.0/water/NCMD/ps-7', false, false],
    [group, 'spBv1.0/STATE/tsunagaru', true, false],
    [group, 'spBv1.0/water/DDATA/ps-7', false, false],
    [group, 'spBv1.0/water/NDATA/ps-7/extra', false, false],
    [oneNode, 'spBv1.0/water/NDATA/ps-7', false, true],
    [oneNode, 'spBv1.0/water/NDATA/ps-9', false, false],
  ])('Sparkplug %# publishing %s: allowed=%s', (principal, topic, retain, allowed) => {
    expect(canPublish(principal as Principal, topic as string, retain as boolean).ok).toBe(allowed);
  });

  it.each([
    [oneNode, 'spBv1.0/water/NCMD/ps-7', true],
    [oneNode, 'spBv1.0/water/NCMD/ps-7/#', true],
    [oneNode, 'spBv1.0/water/DCMD/ps-7/#', true],
    [oneNode, 'spBv1.0/water/DCMD/ps-7/+', true],
    [oneNode, 'spBv1.0/STATE/tsunagaru', true],
    [oneNode, 'spBv1.0/STATE/+', true],
    [oneNode, 'spBv1.0/water/NCMD/ps-9', false],
    [oneNode, 'spBv1.0/water/#', false],
    [oneNode, 'spBv1.0/#', false],
    [group, 'spBv1.0/water/NCMD/+', true],
    [group, 'spBv1.0/power/NCMD/+', false],
  ])('Sparkplug %# subscribing %s: allowed=%s', (principal, filter, allowed) => {
    expect(canSubscribe(principal as Principal, filter as string).ok).toBe(allowed);
  });

  it('lets the ingest read integration events and write what a host application writes', () => {
    expect(canSubscribe(ingest, 'application/+/device/+/event/+').ok).toBe(true);
    expect(canSubscribe(ingest, `application/${APP}/device/+/event/+`).ok).toBe(true);
    expect(canSubscribe(ingest, 'spBv1.0/#').ok).toBe(true);
    expect(canSubscribe(ingest, '#').ok).toBe(false);
    expect(canSubscribe(ingest, 'application/+/device/+/command/down').ok).toBe(false);
    expect(canPublish(ingest, `application/${APP}/device/0101010101010101/command/down`, false).ok).toBe(true);
    expect(canPublish(ingest, `application/${APP}/device/0101010101010101/command/down`, true).ok).toBe(false);
    expect(canPublish(ingest, `application/${APP}/device/0101010101010101/event/up`, false).ok).toBe(false);
    expect(canPublish(ingest, 'spBv1.0/water/NCMD/ps-7', false).ok).toBe(true);
    expect(canPublish(ingest, 'spBv1.0/water/DCMD/ps-7/outlet', false).ok).toBe(true);
    expect(canPublish(ingest, 'spBv1.0/STATE/tsunagaru', true).ok).toBe(true);
    expect(canPublish(ingest, 'spBv1.0/water/NDATA/ps-7', false).ok).toBe(false);
    // The contract rights are unchanged.
    expect(canPublish(ingest, 'tsunagaru/v1/water-meter/wm-1/cmd', false).ok).toBe(true);
    expect(canPublish(ingest, 'tsunagaru/v1/water-meter/wm-1/telemetry', false).ok).toBe(false);
  });

  it('parses Sparkplug topics level by level', () => {
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n/d')).toEqual({ groupId: 'g', verb: 'DDATA', edgeNodeId: 'n', deviceId: 'd' });
    expect(parseSparkplugTopic('spBv1.0/g/NDATA/n')).toEqual({ groupId: 'g', verb: 'NDATA', edgeNodeId: 'n' });
    expect(parseSparkplugTopic('spBv1.0/g/NDATA/n/d')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0/STATE/host')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0/g/XDATA/n')).toBeUndefined();
  });

  it('names the field of a bad scope', () => {
    expect(checkIntegrationScope({ type: 'chirpstack', applicationId: APP })).toBeUndefined();
    expect(checkIntegrationScope({ type: 'chirpstack' })).toMatch(/^integration\.applicationId: /);
    expect(checkIntegrationScope({ type: 'chirpstack', applicationId: 'a/b' })).toMatch(/^integration\.applicationId: /);
    expect(checkIntegrationScope({ type: 'sparkplug', groupId: 'STATE' })).toMatch(/^integration\.groupId: /);
    expect(checkIntegrationScope({ type: 'sparkplug', groupId: 'g', edgeNodeId: '+' })).toMatch(/^integration\.edgeNodeId: /);
    expect(checkIntegrationScope({ type: 'sparkplug', groupId: 'g', extra: 1 })).toMatch(/^integration\.extra: unknown field/);
    expect(checkIntegrationScope({ type: 'opcua' })).toMatch(/^integration\.type: /);
  });
});
