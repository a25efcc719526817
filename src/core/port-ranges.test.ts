import { describe, expect, it } from 'vitest';
import { formatPortRanges, parsePortRanges } from './port-ranges.js';

describe('port ranges', () => {
  it('formats sorted, deduplicated runs', () => {
    expect(formatPortRanges([])).toBe('');
    expect(formatPortRanges([80])).toBe('80');
    expect(formatPortRanges([5, 3, 1, 2, 2, 9, 7, 8, 0, 65535])).toBe('0-3,5,7-9,65535');
  });

  it('round-trips any set of ports', () => {
    for (let trial = 0; trial < 200; trial++) {
      const set = new Set<number>();
      const n = Math.floor(Math.random() * 300);
      for (let i = 0; i < n; i++) set.add(Math.floor(Math.random() * (trial % 2 === 0 ? 400 : 65536)));
      const sorted = [...set].sort((a, b) => a - b);
      expect(parsePortRanges(formatPortRanges(sorted))).toEqual(sorted);
    }
  });

  it('refuses what is not a range list', () => {
    for (const bad of ['x', '1-', '-1', '3-1', '65536', '1,,2', '1-70000', ' 1', '1;2', '123456']) expect(() => parsePortRanges(bad), bad).toThrow(RangeError);
  });
});
