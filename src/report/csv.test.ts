import { describe, expect, it } from 'vitest';
import { csvCell, csvRow, toCsv } from './csv.js';

describe('csv', () => {
  it('quotes per RFC 4180 only where needed', () => {
    expect(csvCell('ssh')).toBe('ssh');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(' padded ')).toBe('" padded "');
    expect(csvCell(22)).toBe('22');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(true)).toBe('true');
  });

  it('guards cells a spreadsheet would run as a formula', () => {
    for (const evil of ['=1+1', '+1', '-1', '@SUM(A1)', '=HYPERLINK("http://x")']) {
      const cell = csvCell(evil);
      expect(cell.replace(/^"/, '')).toMatch(/^'/);
    }
    expect(csvCell('\t=1')).toBe("'\\t=1");
    // Numbers are data, not text a user typed: a negative number stays a number.
    expect(csvCell(-1)).toBe('-1');
  });

  it('keeps one record on one line and control characters inert', () => {
    expect(csvCell('a\nb')).toBe('a\\nb');
    expect(csvCell('\x1b[31mred')).toBe('\\x1b[31mred');
    expect(csvCell('\u202etxt.exe')).toBe('\\u202etxt.exe');
    expect(csvRow(['a', 1, undefined])).toBe('a,1,\r\n');
    expect(toCsv(['h1', 'h2'], [['x', 'y']])).toBe('h1,h2\r\nx,y\r\n');
  });
});
