import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceFileFormat, parseDeviceFile } from './device-file.js';

describe('parseDeviceFile: CSV', () => {
  it('reads a header and rows: attributes as strings, lat/lon as a location, the line of each row', () => {
    const text = '\uFEFFid,type,dma,headEnd,note,lat,lon\r\n' + 'hes-1,water-meter,007,,"head-end, roof",35.6895,139.6917\r\n' + '\r\n' + 'wm-1,water-meter,007,hes-1,"two\nlines",,\r\n' + 'pole-1,smart-pole,,,,35.7,-139.5\r\n';
    const { rows, problems, seen } = parseDeviceFile(text, 'csv');
    expect(problems).toEqual([]);
    expect(seen).toBe(3);
    expect(rows).toEqual([
      { line: 2, input: { id: 'hes-1', type: 'water-meter', attributes: { dma: '007', note: 'head-end, roof' }, location: { lat: 35.6895, lon: 139.6917 } } },
      // A meter behind a head-end gets no secret; the row with a quoted line break starts on line 4.
      { line: 4, input: { id: 'wm-1', type: 'water-meter', attributes: { dma: '007', headEnd: 'hes-1', note: 'two\nlines' }, secret: null } },
      { line: 6, input: { id: 'pole-1', type: 'smart-pole', attributes: {}, location: { lat: 35.7, lon: -139.5 } } },
    ]);
  });

  it('names what is wrong with the header, and refuses a secret column', () => {
    expect(parseDeviceFile('id,dma\nwm-1,x\n', 'csv').problems).toEqual([{ line: 1, message: 'header: no "type" column (columns: id,type[,lat,lon][,<attribute>…])' }]);
    expect(parseDeviceFile('id,type,lat\n', 'csv').problems.map((p) => p.message)).toEqual(['header: "lat" and "lon" go together']);
    expect(parseDeviceFile('id,type,dma,dma\n', 'csv').problems.map((p) => p.message)).toEqual(['header: column "dma" twice']);
    expect(parseDeviceFile('id,type,secret\n', 'csv').problems[0]!.message).toMatch(/secrets are never read from a file/);
    expect(parseDeviceFile('', 'csv').problems[0]!.message).toMatch(/^empty file/);
    expect(parseDeviceFile('id,type\n"wm-1,water-meter\n', 'csv').problems[0]!.message).toMatch(/^not valid CSV: Quote Not Closed/);
  });

  it('reports a row with the wrong number of cells by line and keeps the others; a malformed coordinate reaches the registry check as NaN', () => {
    const { rows, problems } = parseDeviceFile('id,type,lat,lon\nwm-1,water-meter\nwm-2,water-meter,35.1,east\n', 'csv');
    expect(problems).toEqual([{ line: 2, id: 'wm-1', message: '2 cells for 4 columns' }]);
    expect(rows[0]!.input.location).toEqual({ lat: 35.1, lon: Number.NaN });
  });
});

describe('parseDeviceFile: JSON Lines', () => {
  it('reads typed attributes and locations, skipping blank lines, and names each bad line', () => {
    const text = ['{"id":"bs-1","type":"bs-power","attributes":{"batteryCells":24,"backup":true},"location":{"lat":35.69,"lon":139.69}}', '', '{"id":"wm-1","type":"water-meter","attributes":{"headEnd":"hes-1"}}', '[1,2]', '{"id":"x-1","type":"ring-node","secret":"s"}', '{"id":"x-2","type":"ring-node","colour":"red"}', '{"id":'].join('\n');
    const { rows, problems, seen } = parseDeviceFile(text, 'jsonl');
    expect(seen).toBe(6);
    expect(rows).toEqual([
      { line: 1, input: { id: 'bs-1', type: 'bs-power', attributes: { batteryCells: 24, backup: true }, location: { lat: 35.69, lon: 139.69 } } },
      { line: 3, input: { id: 'wm-1', type: 'water-meter', attributes: { headEnd: 'hes-1' }, secret: null } },
    ]);
    expect(problems.map((p) => [p.line, p.id ?? null])).toEqual([[4, null], [5, 'x-1'], [6, 'x-2'], [7, null]]);
    expect(problems[1]!.message).toMatch(/secrets are never read from a file/);
    expect(problems[2]!.message).toBe('unexpected field "colour" (fields: id, type, attributes, location)');
    expect(problems[3]!.message).toMatch(/^not JSON/);
  });
});

describe('deviceFileFormat', () => {
  it.each([
    ['city.csv', 'csv'],
    ['CITY.CSV', 'csv'],
    ['text/csv; charset=utf-8', 'csv'],
    ['meters.jsonl', 'jsonl'],
    ['meters.ndjson', 'jsonl'],
    ['application/x-ndjson', 'jsonl'],
    ['application/jsonl', 'jsonl'],
    ['meters.json', undefined],
    ['text/plain', undefined],
  ])('%s → %s', (input, format) => expect(deviceFileFormat(input)).toBe(format));
});

describe('parseDeviceFile: whatever an operator uploads', () => {
  it('never throws, and every row and problem points at a line of the file', () => {
    const cell = fc.oneof(fc.string(), fc.constantFrom('"', '""', ',', '\n', '\r\n', 'id', 'type', 'water-meter', 'hes-1', '35.6', '{', '}'));
    const csvish = fc.array(fc.array(cell, { maxLength: 6 }).map((cells) => cells.join(',')), { maxLength: 8 }).map((lines) => lines.join('\n'));
    fc.assert(
      fc.property(fc.oneof(csvish, fc.string()), fc.constantFrom('csv' as const, 'jsonl' as const), (text, format) => {
        const { rows, problems, seen } = parseDeviceFile(text, format);
        const lines = text.split('\n').length;
        for (const p of [...rows.map((r) => r.line), ...problems.map((p) => p.line)]) expect(p >= 1 && p <= lines, `line ${p} of ${lines}`).toBe(true);
        expect(rows.length).toBeLessThanOrEqual(seen);
      }),
      { numRuns: 500 },
    );
  });
});
