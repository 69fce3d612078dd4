import type { Command } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { commandMessage, PendingWrites, sparkplugCommandSchema } from './commands.js';
import { decodePayload } from './payload.js';

const cmd = (name: string, args?: Record<string, unknown>) => ({ v: 1, cmdId: `cmd-${name}`, name, ...(args ? { args } : {}), ts: 1 }) as Command;

describe('Sparkplug commands', () => {
  it('writes a device metric as DCMD and a node metric as NCMD, by name, with the argument', () => {
    const d = commandMessage('city', 'DC01', { device: 'Generator', metric: 'Test/Start', type: 'Boolean', value: true }, cmd('generator_test'), 1000);
    expect(d.ok && d.topic).toBe('spBv1.0/city/DCMD/DC01/Generator');
    const n = commandMessage('city', 'DC01', { metric: 'Properties/Sample Interval', type: 'UInt32', value: 'args.sec' }, cmd('set_sample_interval', { sec: 300 }), 1000);
    expect(n.ok && n.topic).toBe('spBv1.0/city/NCMD/DC01');
    const decoded = decodePayload(n.ok ? n.payload : Buffer.alloc(0));
    expect(decoded.ok && decoded.payload).toEqual({ timestamp: 1000, metrics: [{ name: 'Properties/Sample Interval', type: 'UInt32', value: 300 }] });
  });

  it('refuses an argument outside the metric type before anything is sent, naming it', () => {
    const w = { metric: 'Properties/Sample Interval', type: 'UInt16' as const, value: 'args.sec' };
    expect(commandMessage('g', 'n', w, cmd('set_sample_interval', { sec: 70_000 }), 0)).toEqual({ ok: false, reason: 'set_sample_interval: Properties/Sample Interval is UInt16: needs an integer 0..65535, got 70000' });
    expect(commandMessage('g', 'n', w, cmd('set_sample_interval', { sec: 1.5 }), 0).ok).toBe(false);
    expect(commandMessage('g', 'n', w, cmd('set_sample_interval'), 0)).toEqual({ ok: false, reason: 'set_sample_interval: argument sec is missing (the mapping writes Properties/Sample Interval = args.sec)' });
    expect(sparkplugCommandSchema.safeParse({ metric: 'X', type: 'Boolean', value: 3 }).error?.issues[0]).toMatchObject({ path: ['value'], message: 'must be a Boolean value or args.<name>, got 3' });
  });

  it('is confirmed by a report of the written value (a Float within its precision), a Node Control write by the next NBIRTH', () => {
    const pending = new PendingWrites();
    const interval = commandMessage('g', 'n', { metric: 'Setpoint', type: 'Float', value: 'args.v' }, cmd('set_sample_interval', { v: 0.1 }), 0);
    const reboot = commandMessage('g', 'n', { metric: 'Node Control/Reboot', type: 'Boolean', value: true }, cmd('reboot'), 0);
    if (!interval.ok || !reboot.ok) throw new Error('not built');
    pending.add('g/n', interval.pending);
    pending.add('g/n', reboot.pending);
    const nameOf = (m: { name?: string; alias?: number }) => m.name ?? (m.alias === 7 ? 'Setpoint' : undefined);
    // Another value, or the right value from a device of the node, confirms nothing.
    expect(pending.confirmedBy('g/n', { device: '', nbirth: false, metrics: [{ alias: 7, value: 0.2 }], nameOf })).toEqual([]);
    expect(pending.confirmedBy('g/n', { device: 'Pump1', nbirth: false, metrics: [{ name: 'Setpoint', value: 0.1 }], nameOf })).toEqual([]);
    // 0.1 as a 32-bit float reads back as 0.10000000149…
    expect(pending.confirmedBy('g/n', { device: '', nbirth: false, metrics: [{ alias: 7, value: Math.fround(0.1) }], nameOf }).map((d) => d.p.cmdId)).toEqual(['cmd-set_sample_interval']);
    expect(pending.confirmedBy('g/n', { device: '', nbirth: false, metrics: [{ alias: 7, value: Math.fround(0.1) }], nameOf })).toEqual([]);
    expect(pending.confirmedBy('g/n', { device: '', nbirth: true, metrics: [], nameOf }).map((d) => d.p.cmdId)).toEqual(['cmd-reboot']);
  });
});
