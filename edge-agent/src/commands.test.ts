import { buildTopic } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { CommandDispatcher } from './commands.js';

const topic = buildTopic('bs-power', 'bs-1', 'cmd');
const now = 1_750_000_000_000;
const ctx = { deviceId: 'bs-1', type: 'bs-power' as const, boot: 7, now };
const cmd = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify({ v: 1, ts: now - 1000, ...fields }));

describe('CommandDispatcher', () => {
  it('answers ping by default', async () => {
    const out = await new CommandDispatcher().dispatch(topic, cmd({ cmdId: 'c1', name: 'ping' }), ctx);
    expect(out.ack).toEqual({ v: 1, cmdId: 'c1', ok: true, result: { boot: 7 }, ts: now });
  });

  it('refuses commands it does not implement yet, naming them', async () => {
    const out = await new CommandDispatcher().dispatch(topic, cmd({ cmdId: 'c2', name: 'reboot' }), ctx);
    expect(out.ack).toMatchObject({ cmdId: 'c2', ok: false, error: expect.stringContaining('reboot') as unknown });
  });

  it('uses the handler, falling back to built-ins when it returns undefined', async () => {
    const d = new CommandDispatcher();
    d.setHandler((c) => (c.name === 'generator_test' ? { ok: true, result: { started: true } } : undefined));
    expect((await d.dispatch(topic, cmd({ cmdId: 'g', name: 'generator_test' }), ctx)).ack).toMatchObject({ ok: true, result: { started: true } });
    expect((await d.dispatch(topic, cmd({ cmdId: 'p', name: 'ping' }), ctx)).ack).toMatchObject({ ok: true });
  });

  it('turns a throwing handler into ok:false with its message', async () => {
    const d = new CommandDispatcher();
    d.setHandler(() => {
      throw new Error('relay stuck');
    });
    expect((await d.dispatch(topic, cmd({ cmdId: 'x', name: 'ping' }), ctx)).ack).toMatchObject({ ok: false, error: 'relay stuck' });
  });

  it('refuses expired commands without running them', async () => {
    const d = new CommandDispatcher();
    let ran = false;
    d.setHandler(() => {
      ran = true;
      return { ok: true };
    });
    const out = await d.dispatch(topic, cmd({ cmdId: 'old', name: 'ping', expiresTs: now - 1 }), ctx);
    expect(out.ack).toMatchObject({ ok: false, error: expect.stringMatching(/^expired/) as unknown });
    expect(ran).toBe(false);
  });

  it('runs a redelivered command once and repeats its ack', async () => {
    const d = new CommandDispatcher();
    let runs = 0;
    d.setHandler(() => ({ ok: true, result: { run: ++runs } }));
    const a = await d.dispatch(topic, cmd({ cmdId: 'dup', name: 'ping' }), ctx);
    const b = await d.dispatch(topic, cmd({ cmdId: 'dup', name: 'ping' }), { ...ctx, now: now + 5 });
    expect(runs).toBe(1);
    expect(b.ack).toEqual(a.ack);
  });

  it('acks an invalid command that has a cmdId, with the contract reason', async () => {
    const out = await new CommandDispatcher().dispatch(topic, cmd({ cmdId: 'bad', name: 'set_sample_interval', args: { sec: 0 } }), ctx);
    expect(out.ack).toMatchObject({ cmdId: 'bad', ok: false, error: expect.stringContaining('args.sec') as unknown });
  });

  it('drops, with a reason, a message it cannot ack', async () => {
    const out = await new CommandDispatcher().dispatch(topic, Buffer.from('not json'), ctx);
    expect(out.ack).toBeUndefined();
    expect('dropped' in out && out.dropped).toMatch(/cmdId/);
  });
});
