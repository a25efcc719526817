import { describe, expect, it } from 'vitest';
import { isoDate, isoTimestamp, oneLine, SkipLog, VulnDbError } from './errors.js';

describe('vulndb input guards', () => {
  it('normalises the timestamps the feeds write, and refuses impossible ones', () => {
    expect(isoTimestamp('2023-07-20T03:15:10.170')).toBe('2023-07-20T03:15:10.170Z');
    expect(isoTimestamp('2025-11-20T15:00:43.3015Z')).toBe('2025-11-20T15:00:43.301Z');
    expect(isoTimestamp('2025-11-20T00:00:00+0000')).toBe('2025-11-20T00:00:00.000Z');
    expect(isoTimestamp('2025-11-20T02:30:00+02:30')).toBe('2025-11-20T00:00:00.000Z');
    expect(isoTimestamp('2025-11-20T00:00:00-0100')).toBe('2025-11-20T01:00:00.000Z');
    expect(isoTimestamp('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    for (const bad of ['2023-02-29T00:00:00', '2023-13-01', '2023-00-10', '2023-01-01T24:00:00', '2023-01-01T00:60:00', '0099-01-01', '2023-1-1', '', 'yesterday', '2023-01-01T00:00:00+2500']) {
      expect(isoTimestamp(bad), bad).toBeUndefined();
    }
    expect(isoDate('2024-05-01')).toBe('2024-05-01');
    expect(isoDate('2024-05-01T00:00:00')).toBeUndefined();
    expect(isoDate('2024-04-31')).toBeUndefined();
  });

  it('flattens, escapes and caps text', () => {
    expect(oneLine('  a\n\n\tb\u00a0c  ', 100)).toBe('a b c');
    expect(oneLine('x\x1b[2J\u202ey', 100)).toBe('x\\x1b[2J\\u202ey');
    expect(oneLine('abcdef', 4)).toBe('abc…');
    expect(oneLine('a'.repeat(50_000_000), 10)).toBe(`${'a'.repeat(9)}…`);
  });

  it('counts skipped entries in one warning with the first few details', () => {
    const log = new SkipLog('f\x1b.json', 'bad rows skipped');
    expect(log.warning()).toBeUndefined();
    for (let i = 1; i <= 5; i++) log.add(`line ${i}`);
    expect(log.total).toBe(5);
    expect(log.warning()).toBe('"f\\x1b.json": 5 bad rows skipped (line 1; line 2; line 3; …)');
  });

  it('is a UsageError with a stable code, naming the file and line', () => {
    const e = new VulnDbError('scores.csv', 'no header', 3);
    expect(e).toMatchObject({ code: 'E_VULNDB', name: 'VulnDbError', file: 'scores.csv', line: 3, message: '"scores.csv" line 3: no header' });
  });
});
