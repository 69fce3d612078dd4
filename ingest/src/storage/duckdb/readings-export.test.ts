import { Writable } from 'node:stream';
import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore, type EmbeddedStore } from './index.js';
import { csvLine, DuckDbReadingsExporter } from './readings-export.js';
import { ExportForbidden, selectExportDevices } from '../../api/export-selection.js';

const device = (id: string, type: DeviceRecord['type'], attributes: DeviceRecord['attributes'] = {}) => ({ id, type, attributes }) as DeviceRecord;
const FLEET = [
  device('wm-2', 'water-meter', { dma: 'nakano-3', welfareWatch: true }),
  device('wm-1', 'water-meter', { dma: 'nakano-3' }),
  device('wm-9', 'water-meter', { dma: 'toyosu-1' }),
  device('bsp-1', 'bs-power', { site: 'tocho' }),
];

describe('export device selection', () => {
  it('a DMA: its water meters in id order, welfare only for roles that may see it', () => {
    expect(selectExportDevices(FLEET, { dma: 'nakano-3' }, 'water-bureau')).toEqual({
      type: 'water-meter',
      welfare: true,
      devices: [
        { id: 'wm-1', dma: 'nakano-3', site: null, island: null, welfareWatch: false },
        { id: 'wm-2', dma: 'nakano-3', site: null, island: null, welfareWatch: true },
      ],
    });
    const ops = selectExportDevices(FLEET, { dma: 'nakano-3' }, 'disaster-ops');
    expect(ops.welfare).toBe(false);
    expect(ops.devices.map((d) => d.welfareWatch)).toEqual([null, null]);
  });

  it('an id range of a type; refuses types outside the role, unknown DMAs, reversed ranges', () => {
    expect(selectExportDevices(FLEET, { type: 'water-meter', deviceFrom: 'wm-2' }, 'field-engineer').devices.map((d) => d.id)).toEqual(['wm-2', 'wm-9']);
    expect(() => selectExportDevices(FLEET, { type: 'bs-power' }, 'water-bureau')).toThrow(ExportForbidden);
    expect(() => selectExportDevices(FLEET, { dma: 'x' }, 'admin')).toThrow('no water-meter devices in DMA "x"');
    expect(() => selectExportDevices(FLEET, { dma: 'x', type: 'bs-power' }, 'admin')).toThrow(/^dma: DMAs hold water meters/);
    expect(() => selectExportDevices(FLEET, { type: 'water-meter', deviceFrom: 'b', deviceTo: 'a' }, 'admin')).toThrow(/^deviceFrom/);
  });
});

describe('CSV lines', () => {
  it('quote what needs quoting, write lists as JSON, and defuse spreadsheet formulas', () => {
    expect(csvLine(['a', 1.5, null, true, ['leak', 'burst'], 'say "hi", ok', '=HYPERLINK("x")', ' padded'])).toBe(
      'a,1.5,,true,"[""leak"",""burst""]","say ""hi"", ok","\'=HYPERLINK(""x"")"," padded"\r\n',
    );
  });
});

describe('CSV streaming', () => {
  let store: EmbeddedStore;
  const ROWS = 60_000;
  beforeAll(async () => {
    store = await openEmbeddedStore(':memory:');
    await store.db.run(`INSERT INTO samples_water_meter (device_id, boot, seq, idx, ts, replay, "indexL", "flowLph") SELECT 'wm-1', 1, i, 0, epoch_ms(1790000000000 + i * 60000), false, i * 3, 12.5 FROM range(${ROWS}) t(i)`);
  });
  afterAll(() => store.close());

  it('follows a slow reader: never more than about one batch buffered, however long the export', async () => {
    let bytes = 0;
    let lines = 0;
    let maxBuffered = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        lines += chunk.toString().split('\r\n').length - 1;
        maxBuffered = Math.max(maxBuffered, slow.writableLength);
        setImmediate(done);
      },
    });
    const exporter = new DuckDbReadingsExporter(store.db);
    const rows = await exporter.csv({ type: 'water-meter', devices: [{ id: 'wm-1', dma: 'n', site: null, island: null, welfareWatch: null }], from: 0, to: 2e12, welfare: false }, slow);
    expect(rows).toBe(ROWS);
    expect(lines).toBe(ROWS + 1);
    expect(bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(maxBuffered).toBeLessThan(512 * 1024);
  });

  it('stops when the reader goes away', async () => {
    let got = 0;
    const gone = new Writable({
      write(chunk: Buffer, _enc, done) {
        got += chunk.length;
        if (got > 100_000) gone.destroy();
        done();
      },
    });
    const rows = await new DuckDbReadingsExporter(store.db).csv({ type: 'water-meter', devices: [{ id: 'wm-1', dma: null, site: null, island: null, welfareWatch: null }], from: 0, to: 2e12, welfare: false }, gone);
    expect(rows).toBeLessThan(ROWS);
  });
});
