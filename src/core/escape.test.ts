import { describe, expect, it } from 'vitest';
import { HOSTILE, HUGE, RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { escapeTerminal, escapeXmlAttr, escapeXmlText, toJsonLine } from './escape.js';

/** Every UTF-16 code unit, each on its own, so lone surrogates are included. */
const ALL_UNITS = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).join('');

describe('escapeTerminal', () => {
  it('makes control sequences visible and inert', () => {
    expect(escapeTerminal('\x1b[31mred\x1b[0m')).toBe('\\x1b[31mred\\x1b[0m');
    expect(escapeTerminal('a\rb\nc\td\be\x7f\x00')).toBe('a\\rb\\nc\\td\\x08e\\x7f\\x00');
    expect(escapeTerminal('\x9b2J')).toBe('\\x9b2J');
  });
  it('escapes bidi overrides, isolates and marks', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      expect(escapeTerminal(`x${String.fromCharCode(cp)}y`)).toBe(`x\\u${cp.toString(16).padStart(4, '0')}y`);
    }
  });
  it('escapes lone surrogates but keeps pairs, letters and emoji', () => {
    expect(escapeTerminal('\ud800x\udfff')).toBe('\\ud800x\\udfff');
    expect(escapeTerminal('😀 ü 日本 Ελλάδα')).toBe('😀 ü 日本 Ελλάδα');
  });
  it('leaves no unsafe code unit anywhere in the BMP', () => {
    const out = escapeTerminal(ALL_UNITS);
    expect(RAW_CONTROL.test(out)).toBe(false);
    expect(out).not.toMatch(/[\n\t]/);
  });
  it('handles a megabyte in linear time', () => {
    const start = performance.now();
    const out = escapeTerminal(HUGE);
    expect(out.endsWith('\\x1b[2J')).toBe(true);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('escapeXmlText / escapeXmlAttr', () => {
  it('escapes markup and entities', () => {
    expect(escapeXmlText('a<b>&c]]>')).toBe('a&lt;b&gt;&amp;c]]&gt;');
    expect(escapeXmlAttr(`"x" 'y' <z>&`)).toBe('&quot;x&quot; &apos;y&apos; &lt;z&gt;&amp;');
    expect(escapeXmlText(`"q"`)).toBe('"q"');
  });
  it('turns characters XML 1.0 forbids into visible escapes', () => {
    expect(escapeXmlText('a\x00b\x1bc\ufffe\uffff\ud800')).toBe('a\\x00b\\x1bc\\ufffe\\uffff\\ud800');
    expect(escapeXmlAttr('line1\nline2\ttab\r')).toBe('line1\\nline2\\ttab\\r');
  });
  it('produces only characters XML 1.0 allows', () => {
    // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
    const illegal = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
    expect(illegal.test(escapeXmlText(ALL_UNITS + HOSTILE))).toBe(false);
    expect(illegal.test(escapeXmlAttr(ALL_UNITS + HOSTILE))).toBe(false);
  });
});

describe('toJsonLine', () => {
  it('round-trips hostile strings exactly while keeping the line inert', () => {
    const value = { s: HOSTILE.replace(/[\ud800-\udfff]/gu, ''), all: ALL_UNITS.slice(0, 0xd800) + ALL_UNITS.slice(0xe000) };
    const line = toJsonLine(value);
    expect(line).not.toContain('\n');
    expect(RAW_CONTROL.test(line)).toBe(false);
    expect(JSON.parse(line)).toEqual(value);
  });
  it('replaces lone surrogates, which jq rejects, and keeps pairs', () => {
    expect(toJsonLine(['\ud800', 'a\udfffb', '😀'])).toBe('["\ufffd","a\ufffdb","😀"]');
  });
});
