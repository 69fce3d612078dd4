import { describe, expect, it } from 'vitest';
import { canSeeWelfare, redactWelfare, roleAllowed, ROLES } from './roles.js';

describe('roles', () => {
  it('denies by default: a route without declared roles is admin-only', () => {
    expect(ROLES.filter((r) => roleAllowed(r, undefined))).toEqual(['admin']);
    expect(ROLES.filter((r) => roleAllowed(r, ['disaster-ops']))).toEqual(['admin', 'disaster-ops']);
  });

  it('gives welfare access to the water bureau and admins only', () => {
    expect(ROLES.filter(canSeeWelfare)).toEqual(['admin', 'water-bureau']);
  });

  it('strips welfare keys at any depth and drops welfare records from arrays, without touching the input', () => {
    const alerts = [
      { id: 'a1', rule: 'welfare_no_flow', deviceId: 'wm-1' },
      { id: 'a2', rule: 'battery_low', deviceId: 'wm-2' },
      { id: 'a3', rule: 'leak', welfare: true },
      { id: 'a4', rule: 'no_flow', detail: { welfareWatch: true } },
    ];
    const input = Object.freeze({ alerts, device: Object.freeze({ attributes: Object.freeze({ dma: 'n-3', welfareWatch: true }) }) });
    expect(redactWelfare(input)).toEqual({ alerts: [{ id: 'a2', rule: 'battery_low', deviceId: 'wm-2' }], device: { attributes: { dma: 'n-3' } } });
    expect(input.device.attributes.welfareWatch).toBe(true);
  });

  it('treats every key starting with welfare as welfare data, and drops list items that carry a welfare record', () => {
    const deadLetters = [
      { id: 1, webhook: 'ops', event: { kind: 'raised', at: 1, alert: { id: 'a1', rule: 'welfare-watch', group: 'water' } } },
      { id: 2, webhook: 'ops', event: { kind: 'raised', at: 1, alert: { id: 'a2', rule: 'water-leak', group: 'water' } } },
    ];
    expect(redactWelfare({ deadLetters, attributes: { dma: 'n-3', welfareWatch: true, welfareHours: 4, WelfareContact: 'x' } })).toEqual({
      deadLetters: [deadLetters[1]],
      attributes: { dma: 'n-3' },
    });
  });
});
