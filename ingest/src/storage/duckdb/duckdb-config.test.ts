import { describe, expect, it } from 'vitest';
import { DEFAULT_DUCKDB_SETTINGS, loadDuckDbSettings } from './duckdb-config.js';

describe('DuckDB settings', () => {
  it('reads the variables, with defaults, and names the variable that is wrong', () => {
    expect(loadDuckDbSettings({})).toEqual(DEFAULT_DUCKDB_SETTINGS);
    expect(loadDuckDbSettings({ DUCKDB_MEMORY_LIMIT: '2GB', DUCKDB_THREADS: '2', API_READERS: '3', API_READ_TIMEOUT_MS: '5000' })).toEqual({ memoryLimit: '2GB', threads: 2, apiReaders: 3, apiReadTimeoutMs: 5000 });
    expect(() => loadDuckDbSettings({ DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(/^DUCKDB_MEMORY_LIMIT: must be a size such as 512MB or 2GB, got "lots"/);
    expect(() => loadDuckDbSettings({ DUCKDB_THREADS: '0' })).toThrow(/^DUCKDB_THREADS: .*got "0"/);
    expect(() => loadDuckDbSettings({ API_READERS: 'two' })).toThrow(/^API_READERS: /);
  });
});
