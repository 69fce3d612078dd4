import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileAuditLog } from './audit-log.js';

describe('FileAuditLog times', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-audit-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes epoch ms, reads older ISO 8601 lines as epoch ms, and pages by them', async () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, `${JSON.stringify({ at: '2026-01-02T03:04:05.000Z', actor: { kind: 'cli', id: 'ops' }, action: 'token.add', target: 't_1', outcome: 'ok' })}\n`);
    const log = new FileAuditLog(path, () => new Date(Date.UTC(2026, 5, 1)));
    await log.record({ kind: 'token', id: 'bootstrap' }, { action: 'device.provision', target: 'wm-1' });
    const entries = await log.list();
    expect(entries.map((e) => [e.action, e.at])).toEqual([
      ['device.provision', Date.UTC(2026, 5, 1)],
      ['token.add', Date.UTC(2026, 0, 2, 3, 4, 5)],
    ]);
    expect((await log.list({ before: Date.UTC(2026, 5, 1) })).map((e) => e.action)).toEqual(['token.add']);
  });
});
