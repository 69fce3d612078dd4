import type { DeviceType, EventType } from '@tsunagaru/firmware-contracts';
import type { ReadingValue } from './modbus/point-codec.js';

export interface EdgeEvent<T extends DeviceType = DeviceType> {
  type: EventType<T>;
  detail: Record<string, unknown>;
}

type Readings = Readonly<Record<string, ReadingValue>>;

/** A state reading's transitions and the contract event each one raises (`*` = from any other value). */
interface Rule {
  reading: string;
  on: Array<{ from?: ReadingValue; to: ReadingValue; event: string }>;
}

const RULES: Partial<Record<DeviceType, readonly Rule[]>> = {
  'bs-power': [
    { reading: 'mains', on: [{ from: 'on', to: 'off', event: 'mains_lost' }, { from: 'off', to: 'on', event: 'mains_restored' }] },
    {
      reading: 'generator',
      on: [
        { to: 'fault', event: 'generator_fault' },
        { from: 'off', to: 'starting', event: 'generator_start' },
        { from: 'off', to: 'running', event: 'generator_start' },
        { from: 'starting', to: 'off', event: 'generator_stop' },
        { from: 'running', to: 'off', event: 'generator_stop' },
      ],
    },
    { reading: 'backhaul', on: [{ to: 'down', event: 'backhaul_down' }, { to: 'satellite', event: 'backhaul_satellite' }, { to: 'fiber', event: 'backhaul_fiber' }] },
  ],
  'smart-pole': [
    { reading: 'doorOpen', on: [{ from: false, to: true, event: 'door_open' }, { from: true, to: false, event: 'door_closed' }] },
    { reading: 'fiveG', on: [{ from: 'up', to: 'down', event: 'fiveg_down' }, { from: 'down', to: 'up', event: 'fiveg_up' }] },
  ],
};

/**
 * Events raised by the change from `previous` to `next` readings (mains lost/restored, generator fault,
 * door open, link down/up…). A reading missing on either side (a failed poll, the first poll after start)
 * raises nothing: an edge is only claimed when both states were actually read.
 */
export function edgeEvents<T extends DeviceType>(type: T, previous: Readings, next: Readings): EdgeEvent<T>[] {
  const out: EdgeEvent<T>[] = [];
  for (const rule of RULES[type] ?? []) {
    const from = previous[rule.reading];
    const to = next[rule.reading];
    if (from === undefined || to === undefined || from === to) continue;
    const match = rule.on.find((t) => t.to === to && (t.from === undefined || t.from === from));
    if (match) out.push({ type: match.event as EventType<T>, detail: { [rule.reading]: to, from } });
  }
  return out;
}

/** Readings whose changes raise events for a device type (the map marks them `watch`). */
export function edgeReadings(type: DeviceType): string[] {
  return (RULES[type] ?? []).map((r) => r.reading);
}
