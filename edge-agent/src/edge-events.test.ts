import { describe, expect, it } from 'vitest';
import { edgeEvents } from './edge-events.js';

describe('edge events', () => {
  it('raises bs-power events on state edges, naming the old and new value', () => {
    expect(edgeEvents('bs-power', { mains: 'on' }, { mains: 'off' })).toEqual([{ type: 'mains_lost', detail: { mains: 'off', from: 'on' } }]);
    expect(edgeEvents('bs-power', { mains: 'off', generator: 'off' }, { mains: 'on', generator: 'starting' }).map((e) => e.type)).toEqual(['mains_restored', 'generator_start']);
    expect(edgeEvents('bs-power', { generator: 'running' }, { generator: 'fault' }).map((e) => e.type)).toEqual(['generator_fault']);
    expect(edgeEvents('bs-power', { backhaul: 'fiber' }, { backhaul: 'down' }).map((e) => e.type)).toEqual(['backhaul_down']);
    expect(edgeEvents('bs-power', { backhaul: 'down' }, { backhaul: 'satellite' }).map((e) => e.type)).toEqual(['backhaul_satellite']);
  });

  it('raises smart-pole door and 5G events', () => {
    expect(edgeEvents('smart-pole', { doorOpen: false, fiveG: 'up' }, { doorOpen: true, fiveG: 'down' }).map((e) => e.type)).toEqual(['door_open', 'fiveg_down']);
    expect(edgeEvents('smart-pole', { doorOpen: true }, { doorOpen: false }).map((e) => e.type)).toEqual(['door_closed']);
  });

  it('claims no edge without both states: first poll, failed poll, no change', () => {
    expect(edgeEvents('bs-power', {}, { mains: 'off' })).toEqual([]);
    expect(edgeEvents('bs-power', { mains: 'on' }, {})).toEqual([]);
    expect(edgeEvents('bs-power', { mains: 'off' }, { mains: 'off' })).toEqual([]);
    expect(edgeEvents('water-meter', { indexL: 1 }, { indexL: 2 })).toEqual([]);
  });
});
