import { describe, expect, it } from 'vitest';
import { HOSTILE, HUGE, RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { clipText, escapeMarkdown } from './escape.js';

/** Every UTF-16 code unit, each on its own, so lone surrogates are included. */
const ALL_UNITS = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).join('');

describe('escapeMarkdown', () => {
  it('backslash-escapes inline markup and table pipes', () => {
    expect(escapeMarkdown('a|b `c` *d* _e_ [f](g) ~~h~~ $x$ \\ #')).toBe('a\\|b \\`c\\` \\*d\\* \\_e\\_ \\[f\\](g) \\~\\~h\\~\\~ \\$x\\$ \\\\ \\#');
  });
  it('turns HTML and entities into inert entities', () => {
    expect(escapeMarkdown('<script>alert(1)</script> &amp; <https://x.example>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &lt;https://x.example&gt;');
  });
  it('keeps line breaks and controls from ending the line, as visible escapes', () => {
    expect(escapeMarkdown('a\r\nb\tc\x1b[2J\u202ed\u2028e')).toBe('a\\r\\nb\\tc\\x1b\\[2J\\u202ed\\u2028e');
  });
  it('cannot open a block at the start of the text', () => {
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('+ item')).toBe('\\+ item');
    expect(escapeMarkdown('=== ')).toBe('\\===');
    expect(escapeMarkdown('1. first')).toBe('1\\. first');
    expect(escapeMarkdown('2) second')).toBe('2\\) second');
    expect(escapeMarkdown('> quote')).toBe('&gt; quote');
    expect(escapeMarkdown('# heading')).toBe('\\# heading');
    expect(escapeMarkdown('     indented code')).toBe('indented code');
    expect(escapeMarkdown('--- ')).toBe('\\---');
    expect(escapeMarkdown('10.0.0.1 - 2')).toBe('10.0.0.1 - 2');
  });
  it('leaves ordinary text, letters and emoji alone', () => {
    expect(escapeMarkdown('OpenSSH 9.2p1 (Debian 2+deb12u3) ü 日本 😀')).toBe('OpenSSH 9.2p1 (Debian 2+deb12u3) ü 日本 😀');
    expect(escapeMarkdown('')).toBe('');
  });
  it('leaves no raw unsafe character, pipe, angle bracket or line break anywhere in the BMP', () => {
    for (const input of [ALL_UNITS, HOSTILE]) {
      const out = escapeMarkdown(input);
      expect(out).not.toMatch(RAW_CONTROL);
      expect(out).not.toMatch(/[\n\r\t<>]/);
      expect(out).not.toMatch(/(^|[^\\])(\\\\)*\|/);
    }
  });
  it('handles a megabyte in linear time', () => {
    const start = performance.now();
    const out = escapeMarkdown(HUGE);
    expect(out.endsWith('\\x1b\\[2J')).toBe(true);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('clipText', () => {
  it('keeps short text and clips long text with a note', () => {
    expect(clipText('abc', 3)).toBe('abc');
    expect(clipText('abcdef', 3)).toBe('abc… (3 more characters)');
    expect(clipText('abc', 0)).toBe('… (3 more characters)');
  });
  it('never splits a surrogate pair', () => {
    expect(clipText('a😀b', 2)).toBe('a… (3 more characters)');
    expect(clipText('a😀b', 3)).toBe('a😀… (1 more characters)');
  });
});
