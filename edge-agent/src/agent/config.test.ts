import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.js';

const valid = {
  device: { id: 'bs-1', type: 'bs-power', secret: 's3cret-s3cret', model: 'DCP-48' },
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
  modbus: { transport: 'tcp', host: '10.0.0.5' },
  registerMap: 'bs-power-dcp48',
  sampling: { intervalSec: 60 },
  storage: { dir: 'state', maxBytes: '64 MiB' },
};

const problems = (value: unknown, env = {}): string[] => {
  try {
    parseAgentConfig(value, '/etc/tsunagaru/agent.yaml', env);
    return [];
  } catch (err) {
    return [...(err as { details: string[] }).details];
  }
};

describe('agent config', () => {
  it('applies documented defaults, resolves paths from the config file, and freezes the result', () => {
    const c = parseAgentConfig(valid, '/etc/tsunagaru/agent.yaml', {});
    expect(c.modbus).toMatchObject({ transport: 'tcp', port: 502, unitId: 1, timeoutMs: 1000, retries: 2 });
    expect(c.storage).toMatchObject({ dir: '/etc/tsunagaru/state', maxBytes: 64 * 1024 ** 2, segmentBytes: 1024 ** 2, historyBytes: 8 * 1024 ** 2 });
    expect(c.sampling).toEqual({ intervalSec: 60, watchIntervalMs: 1000, speed: 1 });
    expect(c.registerMap).toBe('bs-power-dcp48');
    expect(Object.isFrozen(c.modbus)).toBe(true);
  });

  it('lists every problem with its field and the fix', () => {
    const bad = { ...valid, device: { ...valid.device, id: 'bs 1', secret: undefined }, sampling: { intervalSec: 0, everySec: 5 }, modbus: { transport: 'serial' } };
    const got = problems(bad);
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^device\.id: must match .*the deviceId it was provisioned with/),
        expect.stringMatching(/^device\.secret: is required: set device\.secretFile/),
        'sampling.intervalSec: must be an integer from 1 to 86400, got 0; seconds between samples',
        expect.stringMatching(/^sampling\.everySec: unknown field; check the spelling/),
        'modbus.transport: must be one of "tcp", "rtu", got "serial"',
      ]),
    );
  });

  it('takes the secret from the environment when the file has none, and checks RTU settings', () => {
    const rtu = { ...valid, device: { ...valid.device, secret: undefined }, modbus: { transport: 'rtu', path: '/dev/ttyUSB0', parity: 'even', baudRate: 19200 } };
    const c = parseAgentConfig(rtu, '/x/a.yaml', { TSUNAGARU_DEVICE_SECRET: 'from-env' });
    expect(c.device.secret).toBe('from-env');
    expect(c.modbus).toMatchObject({ transport: 'rtu', path: '/dev/ttyUSB0', parity: 'even', baudRate: 19200, dataBits: 8, stopBits: 1 });
    expect(problems({ ...rtu, modbus: { transport: 'rtu' } }, { TSUNAGARU_DEVICE_SECRET: 'x' })).toEqual(['modbus.path: is required; the serial device, e.g. /dev/ttyUSB0']);
  });

  it('refuses a segment size that would not let drop-oldest work', () => {
    expect(problems({ ...valid, storage: { dir: 'x', maxBytes: '1 MiB', segmentBytes: '512 KiB' } })).toEqual(['storage.segmentBytes: must be at most a quarter of storage.maxBytes (262144)']);
  });
});
