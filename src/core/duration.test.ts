import { describe, expect, it } from 'vitest';
import { parseCount, parseDuration, parseRate } from './duration.js';

describe('durations and counts', () => {
  it('reads nmap time values', () => {
    expect(parseDuration('500ms', '--x')).toBe(500);
    expect(parseDuration('2s', '--x')).toBe(2000);
    expect(parseDuration('30', '--x')).toBe(30_000);
    expect(parseDuration('1.5m', '--x')).toBe(90_000);
    expect(parseDuration('1h', '--x')).toBe(3_600_000);
  });
  it('names the option and the token when it is bad', () => {
    for (const bad of ['', '-1', '1d', 'ms', '1e9', '2s2', '\u0661s', '9'.repeat(400)]) {
      expect(() => parseDuration(bad, '--host-timeout')).toThrow(/--host-timeout/);
    }
    expect(() => parseDuration('99999999h', '--x')).toThrow(/too long/);
  });
  it('bounds whole numbers and rates', () => {
    expect(parseCount('6', '--max-retries', 0, 50)).toBe(6);
    expect(() => parseCount('51', '--max-retries', 0, 50)).toThrow(/from 0 to 50/);
    expect(() => parseCount('1.5', '--max-retries', 0, 50)).toThrow();
    expect(parseRate('0.5', '--max-rate')).toBe(0.5);
    expect(() => parseRate('0', '--max-rate')).toThrow();
    expect(() => parseRate('abc', '--max-rate')).toThrow(/--max-rate "abc"/);
  });
});
