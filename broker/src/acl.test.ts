import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, clientIdAllowed, type DelegateInfo, type Principal } from './acl.js';

const pole: Principal = { kind: 'device', id: 'pole-01', type: 'smart-pole', secretHash: 'h' };
const ingest: Principal = { kind: 'service', username: 'ingest', role: 'ingest', secretHash: 'h' };

describe('acl', () => {
  it.each([
    ['tsunagaru/v1/smart-pole/pole-01/telemetry', false, true],
    ['tsunagaru/v1/smart-pole/pole-01/event', false, true],
    ['tsunagaru/v1/smart-pole/pole-01/state', true, true],
    ['tsunagaru/v1/smart-pole/pole-01/cmd/ack', false, true],
    ['tsunagaru/v1/smart-pole/pole-01/cmd', false, false],
    ['tsunagaru/v1/smart-pole/pole-01/telemetry', true, false],
    ['tsunagaru/v1/smart-pole/pole-012/telemetry', false, false],
    ['tsunagaru/v1/smart-pole/pole-0/telemetry', false, false],
    ['tsunagaru/v1/bs-power/pole-01/telemetry', false, false],
    ['tsunagaru/v1/smart-pole/pole-01/telemetry/extra', false, false],
    ['tsunagaru/v2/smart-pole/pole-01/telemetry', false, false],
    ['$SYS/broker/uptime', false, false],
  ])('device pole-01 publishing %s (retain %s): allowed=%s', (topic, retain, allowed) => {
    expect(canPublish(pole, topic, retain).ok).toBe(allowed);
  });

  it('gives the same verdict on the fast path (own prefix) as the full parse, near misses included', () => {
    // A fresh principal per call and a reused one: the first call builds the cached prefix, later ones use it.
    const fresh = (): Principal => ({ ...pole });
    const own = 'tsunagaru/v1/smart-pole/pole-01/';
    const cases: Array<[string, boolean, boolean]> = [
      [`${own}telemetry`, false, true],
      [`${own}state`, true, true],
      [`${own}cmd/ack`, true, false],
      [`${own}telemetry/`, false, false],
      [`${own}telemetryx`, false, false],
      [`${own}Telemetry`, false, false],
      [own, false, false],
      [`${own}cmd`, false, false],
      [`${own}cmd/ack/x`, false, false],
      [`${own}#`, false, false],
      ['tsunagaru/v1/smart-pole/pole-01', false, false],
    ];
    for (const [topic, retain, allowed] of cases) {
      expect(canPublish(fresh(), topic, retain)).toEqual(canPublish(pole, topic, retain));
      expect(canPublish(pole, topic, retain).ok).toBe(allowed);
    }
    expect(canPublish(pole, `${own}event`, true)).toEqual({ ok: false, reason: 'retain_denied', detail: 'only state messages may be retained' });
  });

  it.each([
    ['tsunagaru/v1/water-meter/wm-01/cmd', false, true],
    ['tsunagaru/v1/water-meter/wm-01/cmd', true, false],
    ['tsunagaru/v1/water-meter/wm-01/telemetry', false, false],
    ['tsunagaru/v1/toaster/wm-01/cmd', false, false],
    ['tsunagaru/v1/water-meter/wm 01/cmd', false, false],
  ])('ingest publishing %s (retain %s): allowed=%s', (topic, retain, allowed) => {
    expect(canPublish(ingest, topic, retain).ok).toBe(allowed);
  });

  it.each([
    [pole, 'tsunagaru/v1/smart-pole/pole-01/cmd', true],
    [pole, 'tsunagaru/v1/smart-pole/pole-01/#', false],
    [pole, 'tsunagaru/v1/smart-pole/+/cmd', false],
    [pole, 'tsunagaru/v1/smart-pole/pole-01/cmd/ack', false],
    [ingest, 'tsunagaru/v1/#', true],
    [ingest, 'tsunagaru/v1/+/+/#', true],
    [ingest, 'tsunagaru/v1/bs-power/+/event', true],
    [ingest, '#', false],
    [ingest, '+/v1/#', false],
    [ingest, '$SYS/#', false],
  ])('%o subscribing to %s: allowed=%s', (principal, filter, allowed) => {
    expect(canSubscribe(principal, filter).ok).toBe(allowed);
  });

  it('says in the denial what is allowed instead', () => {
    expect(canPublish(pole, 'tsunagaru/v1/water-meter/wm-01/telemetry', false)).toEqual({
      ok: false,
      reason: 'publish_denied',
      detail: 'device may publish only under tsunagaru/v1/smart-pole/pole-01/',
    });
  });

  // Head-end gateway hes-01 publishes for the meters whose attribute headEnd is hes-01.
  const hes: Principal = { kind: 'device', id: 'hes-01', type: 'water-meter', secretHash: 'h' };
  const registry: Record<string, DelegateInfo> = {
    'wm-01': { type: 'water-meter', headEnd: 'hes-01', disabled: false },
    'wm-02': { type: 'water-meter', headEnd: 'hes-02', disabled: false },
    'wm-03': { type: 'water-meter', headEnd: 'hes-01', disabled: true },
    'wm-04': { type: 'water-meter', headEnd: undefined, disabled: false },
  };
  const lookup = (id: string) => registry[id];
  it.each([
    ['tsunagaru/v1/water-meter/wm-01/telemetry', false, true],
    ['tsunagaru/v1/water-meter/wm-01/event', false, true],
    ['tsunagaru/v1/water-meter/wm-01/telemetry', true, false],
    ['tsunagaru/v1/water-meter/wm-01/state', true, false],
    ['tsunagaru/v1/water-meter/wm-01/state', false, false],
    ['tsunagaru/v1/water-meter/wm-01/cmd/ack', false, false],
    ['tsunagaru/v1/water-meter/wm-01/cmd', false, false],
    ['tsunagaru/v1/bs-power/wm-01/telemetry', false, false],
    ['tsunagaru/v1/water-meter/wm-02/telemetry', false, false],
    ['tsunagaru/v1/water-meter/wm-03/telemetry', false, false],
    ['tsunagaru/v1/water-meter/wm-04/telemetry', false, false],
    ['tsunagaru/v1/water-meter/wm-99/telemetry', false, false],
    ['tsunagaru/v1/water-meter/hes-01/telemetry', false, true],
  ])('gateway hes-01 publishing %s (retain %s): allowed=%s', (topic, retain, allowed) => {
    expect(canPublish(hes, topic, retain, lookup).ok).toBe(allowed);
  });

  it('a gateway publish counts against the meter it is for; without a lookup nobody publishes for others', () => {
    expect(canPublish(hes, 'tsunagaru/v1/water-meter/wm-01/telemetry', false, lookup)).toEqual({ ok: true, onBehalfOf: 'wm-01' });
    expect(canPublish(hes, 'tsunagaru/v1/water-meter/wm-01/telemetry', false).ok).toBe(false);
    // A device named as head-end of nothing keeps exactly its own rights.
    expect(canPublish(pole, 'tsunagaru/v1/water-meter/wm-01/telemetry', false, lookup).ok).toBe(false);
  });

  it.each([
    ['pole-01', true],
    ['pole-01:sensor-a', true],
    ['', true],
    ['pole-012', false],
    ['pole-0', false],
    ['wm-01', false],
    ['xpole-01', false],
  ])('client id %j for device pole-01: allowed=%s', (clientId, allowed) => {
    expect(clientIdAllowed(pole, clientId)).toBe(allowed);
  });
});
