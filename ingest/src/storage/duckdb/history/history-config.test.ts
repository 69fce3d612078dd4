import { describe, expect, it } from 'vitest';
import { loadHistorySettings } from './history-config.js';

describe('history settings', () => {
  it('defaults to 90 days hot, archive and rollups kept for ever', () => {
    expect(loadHistorySettings({})).toEqual({ rawRetentionDays: 90, archiveRetentionDays: null, rollupRetentionDays: null });
    expect(loadHistorySettings({ RAW_RETENTION_DAYS: '7', ARCHIVE_RETENTION_DAYS: '3650', ROLLUP_RETENTION_DAYS: 'forever' })).toEqual({ rawRetentionDays: 7, archiveRetentionDays: 3650, rollupRetentionDays: null });
  });

  it('names the variable and the fix', () => {
    expect(() => loadHistorySettings({ RAW_RETENTION_DAYS: 'forever' })).toThrow(/^RAW_RETENTION_DAYS: must be a whole number of days, got "forever"/);
    expect(() => loadHistorySettings({ ROLLUP_RETENTION_DAYS: '0' })).toThrow(/^ROLLUP_RETENTION_DAYS: .*at least 1.* or "forever", got "0"/);
    // Archiving must not turn into deleting: the archive keeps at least what the hot tables did.
    expect(() => loadHistorySettings({ RAW_RETENTION_DAYS: '90', ARCHIVE_RETENTION_DAYS: '30' })).toThrow(/^ARCHIVE_RETENTION_DAYS: must be at least RAW_RETENTION_DAYS \(90\)/);
  });
});
