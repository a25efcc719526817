import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parseSince } from './commands/query.js';
import { parseSshTarget } from './commands/listeners.js';
import { pickFormat, renderCsv, renderJson, renderTable, timeText, type Column } from './tabular.js';

interface Row {
  a: string;
  n: number;
}
const COLS: Column<Row>[] = [
  { header: 'NAME', value: (r) => r.a },
  { header: 'N', value: (r) => r.n },
];

describe('tabular output', () => {
  it('pads columns like nmap and escapes every cell', () => {
    const out = renderTable(COLS, [
      { a: 'ssh', n: 1 },
      { a: 'evil\x1b[2J\nline', n: 22 },
    ]);
    const cell = 'evil\\x1b[2J\\nline';
    expect(out).toBe(`${'NAME'.padEnd(cell.length)} N\n${'ssh'.padEnd(cell.length)} 1\n${cell} 22\n`);
    expect(out.includes('\x1b')).toBe(false);
  });

  it('caps a huge cell in tables only', () => {
    const out = renderTable(COLS, [{ a: 'x'.repeat(10_000), n: 1 }]);
    expect(out.length).toBeLessThan(200);
    expect(renderCsv(COLS, [{ a: 'x'.repeat(10_000), n: 1 }]).length).toBeGreaterThan(10_000);
  });

  it('writes JSON arrays with inert control characters', () => {
    expect(renderJson([])).toBe('[]\n');
    const text = renderJson([{ a: '\u202e' }, { b: 1 }]);
    expect(JSON.parse(text)).toEqual([{ a: '\u202e' }, { b: 1 }]);
    expect(text).not.toMatch(/\u202e/);
  });

  it('picks one format and refuses contradictions', () => {
    expect(pickFormat({})).toBe('table');
    expect(pickFormat({ json: true })).toBe('json');
    expect(pickFormat({ format: 'csv' })).toBe('csv');
    expect(() => pickFormat({ format: 'xml' })).toThrow(UsageError);
    expect(() => pickFormat({ json: true, csv: true })).toThrow(/choose one/);
    expect(() => pickFormat({ format: 'table', json: true })).toThrow(/choose one/);
  });

  it('shows times in UTC', () => {
    expect(timeText(0)).toBe('1970-01-01 00:00:00Z');
    expect(timeText(undefined)).toBe('');
  });
});

describe('--since', () => {
  const now = Date.UTC(2024, 4, 10, 12, 0, 0);
  it('reads durations back from now', () => {
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('12h', now)).toBe(now - 12 * 3_600_000);
    expect(parseSince('30m', now)).toBe(now - 1_800_000);
    expect(parseSince('2w', now)).toBe(now - 14 * 86_400_000);
  });
  it('reads ISO dates and times (UTC unless a zone is given)', () => {
    expect(parseSince('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    expect(parseSince('2024-05-01T12:30')).toBe(Date.UTC(2024, 4, 1, 12, 30));
    expect(parseSince('2024-05-01 12:30:15Z')).toBe(Date.UTC(2024, 4, 1, 12, 30, 15));
    expect(parseSince('2024-05-01T12:30:00+02:00')).toBe(Date.UTC(2024, 4, 1, 10, 30));
  });
  it('refuses anything else with one line naming the token', () => {
    for (const bad of ['yesterday', '7', '7y', '2024-13-45', '', '-1d', '2024-05-01T25:00']) {
      expect(() => parseSince(bad), bad).toThrow(UsageError);
    }
  });
});

describe('--ssh user@host', () => {
  it('splits user and host', () => {
    expect(parseSshTarget('root@198.18.0.2')).toEqual({ user: 'root', host: '198.18.0.2' });
    expect(parseSshTarget('me@[::1]')).toEqual({ user: 'me', host: '::1' });
    expect(parseSshTarget('a.b@host.example')).toEqual({ user: 'a.b', host: 'host.example' });
  });
  it('refuses what ssh would read as options or what is not a host', () => {
    for (const bad of ['host', '@host', 'root@', '-oProxyCommand=x@h', 'u@-oProxyCommand=x', 'u@h h', 'u@h;rm']) {
      expect(() => parseSshTarget(bad), bad).toThrow(UsageError);
    }
  });
});
