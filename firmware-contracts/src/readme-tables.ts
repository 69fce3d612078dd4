import type { z } from 'zod';
import { BOUNDS, MAX_TS_MS, MIN_TS_MS } from './bounds.js';
import { EVENT_TYPES } from './event.js';
import { ringSegment, telemetrySchemas } from './telemetry.js';
import { DEVICE_TYPES } from './topics.js';
import { ContractError } from './errors.js';

/**
 * Tables of README.md that restate source constants. They are generated (by `npm run contracts:export`) and
 * checked by a test, because a hand-copied bounds table is the first thing to drift from bounds.ts.
 */

function fmt(n: number): string {
  if (n === Number.MAX_SAFE_INTEGER) return '2^53 − 1';
  return n.toLocaleString('en-US', { maximumFractionDigits: 6 }).replace('-', '−');
}

/** Where each bounded reading appears, read from the schemas rather than restated. */
function placesOf(name: string): string[] {
  const places: string[] = [];
  for (const type of DEVICE_TYPES) {
    const sample = (telemetrySchemas[type].shape.samples.element as unknown as z.ZodObject).shape;
    if (name in sample) places.push(`${type} sample`);
  }
  if (name in ringSegment.shape) places.push('ring-node `segments[]`');
  if (name === 'sampleSec') places.push('birth `sampleSec`', '`set_sample_interval` `args.sec`');
  return places;
}

export function boundsTable(): string {
  const rows = Object.entries(BOUNDS).map(([name, b]) => {
    const kind = 'integer' in b && b.integer ? 'integer' : 'number';
    return `| \`${name}\` | ${placesOf(name).join(', ')} | ${fmt(b.min)} | ${fmt(b.max)} | ${b.unit} | ${kind} |`;
  });
  return [
    '| reading | where | min | max | unit | JSON type |',
    '|---|---|---:|---:|---|---|',
    ...rows,
    // Timestamps unformatted, so firmware authors can paste them into their own range checks.
    `| every \`ts\`, \`expiresTs\`, \`fromTs\`, \`toTs\` | all payloads | ${MIN_TS_MS} (${new Date(MIN_TS_MS).toISOString()}) | ${MAX_TS_MS} (${new Date(MAX_TS_MS).toISOString()}) | epoch ms, UTC | integer |`,
  ].join('\n');
}

export function eventTypesTable(): string {
  return [
    '| device type | event `type` values |',
    '|---|---|',
    ...DEVICE_TYPES.map((t) => `| \`${t}\` | ${EVENT_TYPES[t].map((e) => `\`${e}\``).join(', ')} |`),
  ].join('\n');
}

export const README_TABLES = { bounds: boundsTable, 'event-types': eventTypesTable } as const;

/** Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` with the fresh table. */
export function refreshReadme(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(README_TABLES)) {
    const re = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new ContractError('CONTRACT_ERR_README', `README.md has no <!-- generated:${name} --> block`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}\n\n${make()}\n\n${close}`);
  }
  return out;
}
