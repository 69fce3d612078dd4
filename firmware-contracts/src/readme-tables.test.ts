import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOUNDS } from './bounds.js';
import { EVENT_TYPES } from './event.js';
import { boundsTable, eventTypesTable, refreshReadme } from './readme-tables.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README generated tables', () => {
  it('are up to date (run `npm run contracts:export` if not)', () => {
    expect(refreshReadme(README)).toBe(README);
  });

  it('list every bound and every event type', () => {
    for (const name of Object.keys(BOUNDS)) expect(boundsTable()).toContain(`| \`${name}\` |`);
    for (const types of Object.values(EVENT_TYPES)) for (const t of types) expect(eventTypesTable()).toContain(`\`${t}\``);
  });

  it('refuses a README that lost its markers instead of silently dropping a table', () => {
    expect(() => refreshReadme('# no markers\n')).toThrow(/generated:bounds/);
  });

  it('is idempotent', () => {
    const once = refreshReadme('<!-- generated:bounds -->\nold\n<!-- /generated:bounds -->\n<!-- generated:event-types --><!-- /generated:event-types -->\n');
    expect(refreshReadme(once)).toBe(once);
    expect(once).not.toContain('old');
  });
});
