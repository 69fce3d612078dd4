import { describe, expect, it } from 'vitest';
import {
  ALL_DEVICE_TOPICS,
  buildTopic,
  CHANNELS,
  DEVICE_PUBLISH_CHANNELS,
  DEVICE_TYPES,
  devicePrefix,
  parseTopic,
  type Channel,
  type DeviceType,
} from './topics.js';

describe('buildTopic / parseTopic', () => {
  const all = DEVICE_TYPES.flatMap((type) => CHANNELS.map((channel) => [type, channel] as const));

  it.each(all)('round-trips %s %s', (type, channel) => {
    const topic = buildTopic(type, 'dev-01_A', channel);
    expect(topic).toBe(`tsunagaru/v1/${type}/dev-01_A/${channel}`);
    expect(parseTopic(topic)).toEqual({ ok: true, topic: { type, deviceId: 'dev-01_A', channel } });
  });

  it('parses cmd/ack as one two-segment channel, distinct from cmd', () => {
    expect(parseTopic('tsunagaru/v1/bs-power/bs-minato-017/cmd/ack')).toEqual({
      ok: true,
      topic: { type: 'bs-power', deviceId: 'bs-minato-017', channel: 'cmd/ack' },
    });
    expect(parseTopic('tsunagaru/v1/bs-power/bs-minato-017/cmd')).toMatchObject({ ok: true, topic: { channel: 'cmd' } });
  });

  it('accepts a 64-character deviceId and rejects 65', () => {
    const id64 = 'a'.repeat(64);
    expect(parseTopic(`tsunagaru/v1/water-meter/${id64}/telemetry`)).toMatchObject({ ok: true, topic: { deviceId: id64 } });
    expect(buildTopic('water-meter', id64, 'telemetry')).toContain(id64);
    const r = parseTopic(`tsunagaru/v1/water-meter/${'a'.repeat(65)}/telemetry`);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^topic: invalid deviceId/);
    expect(() => buildTopic('water-meter', 'a'.repeat(65), 'telemetry')).toThrow(TypeError);
  });

  it('buildTopic rejects a bad type, id or channel', () => {
    expect(() => buildTopic('street-light' as DeviceType, 'x', 'telemetry')).toThrow(/unknown device type "street-light"/);
    expect(() => buildTopic('smart-pole', '', 'telemetry')).toThrow(/invalid deviceId ""/);
    expect(() => buildTopic('smart-pole', 'a/b', 'telemetry')).toThrow(/invalid deviceId/);
    expect(() => buildTopic('smart-pole', 'x', 'cmd/nack' as Channel)).toThrow(/unknown channel "cmd\/nack"/);
  });

  it.each([
    ['tsunagaru/v2/smart-pole/sp-1/telemetry', 'topic: must start with "tsunagaru/v1/"'],
    ['tsunagaru/v1', 'topic: must start with "tsunagaru/v1/"'],
    ['/tsunagaru/v1/smart-pole/sp-1/telemetry', 'topic: must start with "tsunagaru/v1/"'],
    ['tsunagaru/v1/smart-pole/sp-1', 'topic: expected tsunagaru/v1/{type}/{deviceId}/{channel}'],
    ['tsunagaru/v1/street-light/sl-1/telemetry', 'topic: unknown device type "street-light"; expected one of smart-pole, water-meter, bs-power, ring-node'],
    ['tsunagaru/v1/Smart-Pole/sp-1/telemetry', 'topic: unknown device type "Smart-Pole"; expected one of smart-pole, water-meter, bs-power, ring-node'],
    ['tsunagaru/v1/smart-pole//telemetry', 'topic: invalid deviceId ""; expected ^[A-Za-z0-9_-]{1,64}$'],
    ['tsunagaru/v1/smart-pole/sp 1/telemetry', 'topic: invalid deviceId "sp 1"; expected ^[A-Za-z0-9_-]{1,64}$'],
    ['tsunagaru/v1/smart-pole/+/telemetry', 'topic: invalid deviceId "+"; expected ^[A-Za-z0-9_-]{1,64}$'],
    ['tsunagaru/v1/smart-pole/sp.1/telemetry', 'topic: invalid deviceId "sp.1"; expected ^[A-Za-z0-9_-]{1,64}$'],
    ['tsunagaru/v1/smart-pole/sp-1/telemetry/', 'topic: unknown channel "telemetry/"; expected one of telemetry, event, state, cmd, cmd/ack'],
    ['tsunagaru/v1/smart-pole/sp-1/Telemetry', 'topic: unknown channel "Telemetry"; expected one of telemetry, event, state, cmd, cmd/ack'],
    ['tsunagaru/v1/smart-pole/sp-1/cmd/nack', 'topic: unknown channel "cmd/nack"; expected one of telemetry, event, state, cmd, cmd/ack'],
    ['tsunagaru/v1/smart-pole/sp-1/ack', 'topic: unknown channel "ack"; expected one of telemetry, event, state, cmd, cmd/ack'],
    ['tsunagaru/v1/smart-pole/sp-1/#', 'topic: unknown channel "#"; expected one of telemetry, event, state, cmd, cmd/ack'],
  ])('rejects %s', (topic, reason) => {
    expect(parseTopic(topic)).toEqual({ ok: false, reason });
  });

  it('truncates a huge deviceId in the reason', () => {
    const r = parseTopic(`tsunagaru/v1/smart-pole/${'x'.repeat(500)}/telemetry`);
    expect(!r.ok && r.reason.length).toBeLessThan(200);
  });
});

describe('publish rights', () => {
  it('devices publish everywhere under their prefix except cmd, which they only subscribe to', () => {
    expect(devicePrefix('ring-node', 'rn-niijima')).toBe('tsunagaru/v1/ring-node/rn-niijima/');
    expect([...DEVICE_PUBLISH_CHANNELS].sort()).toEqual(CHANNELS.filter((c) => c !== 'cmd').sort());
    expect(ALL_DEVICE_TOPICS).toBe('tsunagaru/v1/+/+/#');
  });
});
