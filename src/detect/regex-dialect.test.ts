import { describe, expect, it } from 'vitest';
import { compileRegex, MAX_PATTERN_CHARS, RegexDialectError, translateRegex, type RegexDialect } from './regex-dialect.js';

const ruby = (src: string, flags = ''): RegExp => compileRegex(src, { dialect: 'ruby', flags }).regex;
const pcre = (src: string, flags = ''): RegExp => compileRegex(src, { dialect: 'pcre', flags }).regex;
const tr = (src: string, dialect: RegexDialect = 'ruby', flags = '') => translateRegex(src, { dialect, flags });

/** The RegexDialectError a pattern raises. */
function errorOf(src: string, dialect: RegexDialect = 'ruby'): string {
  try {
    compileRegex(src, { dialect });
  } catch (error) {
    expect(error).toBeInstanceOf(RegexDialectError);
    return (error as Error).message;
  }
  throw new Error(`expected ${src} to be rejected`);
}

describe('flags', () => {
  it('turns a leading (?i) into the i flag without a note', () => {
    expect(tr('(?i)^ssh-')).toEqual({ source: '^ssh-', flags: 'im', notes: [] });
    expect(tr('(?i)^ssh-', 'pcre')).toEqual({ source: '^ssh-', flags: 'i', notes: [] });
    expect(ruby('(?i)^openssh').test('OpenSSH_9.2')).toBe(true);
  });
  it('gives Ruby patterns line anchors (Ruby ^ and $ always match at lines)', () => {
    expect(ruby('^Server: (\\S+)$').exec('HTTP/1.1 200 OK\nServer: nginx\nX: y')?.[1]).toBe('nginx');
    expect(pcre('^Server: (\\S+)$').test('HTTP/1.1 200 OK\nServer: nginx\nX: y')).toBe(false);
  });
  it('reads Ruby (?m) as dot-matches-newline, scoped exactly', () => {
    expect(tr('(?m)a.b').source).toBe('a[\\s\\S]b');
    expect(ruby('(?m)a.b').test('a\nb')).toBe(true);
    expect(ruby('x(?m:a.b).').test('xa\nb\n')).toBe(false);
    expect(ruby('x(?m:a.b).').test('xa\nbc')).toBe(true);
    expect(ruby('a.b').test('a\nb')).toBe(false);
  });
  it('reads PCRE (?s) as dotall and (?m) as multiline anchors', () => {
    expect(pcre('(?s)a.b').test('a\nb')).toBe(true);
    expect(tr('(?m)^b$', 'pcre')).toEqual({ source: '^b$', flags: 'm', notes: [] });
    expect(pcre('(?m)^b$').test('a\nb\nc')).toBe(true);
  });
  it('maps option flags i, s, m and keeps a scoped turn-off of dotall exact', () => {
    expect(tr('a.b', 'pcre', 'is')).toMatchObject({ source: 'a.b', flags: 'is' });
    expect(tr('(?-s:.)', 'pcre', 's').source).toBe('(?:[^\\n])');
    expect(tr('(?-m:.)', 'ruby', 's').source).toBe('(?:[^\\n])');
    expect(() => tr('a', 'pcre', 'g')).toThrow(RegexDialectError);
  });
  it('applies a scoped or mid-pattern (?i) to the whole pattern and says so', () => {
    const t = tr('^ab(?i:cd)');
    expect(t.flags).toContain('i');
    expect(t.source).toBe('^ab(?:cd)');
    expect(t.notes.join()).toMatch(/whole pattern/);
    expect(tr('ab(?i)cd').notes.join()).toMatch(/whole pattern/);
    expect(tr('(?i)a(?-i)b').notes.join()).toMatch(/stays case-insensitive/);
  });
  it('removes (?-mix:…) wrappers Ruby writes for embedded regexes', () => {
    expect(tr('(?-mix:abc)d')).toMatchObject({ source: '(?:abc)d', notes: [] });
  });
  it('strips whitespace and comments in extended mode, outside classes only', () => {
    expect(tr('(?x) ^ a \\  b # comment\n [ x]{2} # more').source).toBe('^a\\ b[ x]{2}');
    expect(tr('a b(?x: c d )e f').source).toBe('a b(?:cd)e f');
    expect(tr('a b', 'pcre', 'x').source).toBe('ab');
    expect(pcre('(?x) foo \\# bar').test('foo#bar')).toBe(true);
  });
  it('drops (?#…) comments', () => {
    expect(tr('a(?#note)b').source).toBe('ab');
  });
});

describe('escapes', () => {
  it('translates \\A, \\z and \\Z for the flags in effect', () => {
    expect(tr('\\Aabc\\z', 'pcre').source).toBe('^abc$');
    expect(tr('\\Aabc\\Z', 'pcre').source).toBe('^abc(?=\\n?$)');
    const r = ruby('\\Aabc\\z');
    expect(r.test('abc')).toBe(true);
    expect(r.test('x\nabc')).toBe(false);
    expect(r.test('abc\n')).toBe(false);
    expect(ruby('\\Aabc\\Z').test('abc\n')).toBe(true);
    expect(ruby('\\Aabc\\Z').test('abc\nx')).toBe(false);
  });
  it('reads Ruby \\h as a hex digit and PCRE \\h as horizontal space', () => {
    expect(tr('\\h+\\H').source).toBe('[0-9a-fA-F]+[^0-9a-fA-F]');
    expect(ruby('^(\\h+)$').exec('deadBEEF')?.[1]).toBe('deadBEEF');
    expect(ruby('^[\\h_]+$').test('ab_12')).toBe(true);
    expect(ruby('^\\h+$').test('xyz')).toBe(false);
    expect(pcre('a\\hb').test('a\tb')).toBe(true);
    expect(errorOf('[\\H]')).toMatch(/\\H/);
  });
  it('rewrites \\x{…}, \\u{…}, one-digit \\x, \\e, \\a and octal \\0', () => {
    expect(tr('\\x{41}\\u{263a}\\xA\\e\\a\\0\\012', 'pcre').source).toBe('\\x41\\u263a\\x0a\\x1b\\x07\\x00\\x0a');
    expect(pcre('\\x{41}').test('A')).toBe(true);
    expect(errorOf('\\x{1F600}')).toMatch(/u flag/);
    expect(errorOf('\\xZZ')).toMatch(/hex/);
  });
  it('handles \\R, PCRE \\N and \\Q…\\E', () => {
    expect(pcre('a\\Rb').test('a\r\nb')).toBe(true);
    expect(pcre('a\\Nb').test('a\nb')).toBe(false);
    expect(pcre('^\\Q.*+(\\E$').test('.*+(')).toBe(true);
    expect(pcre('^\\Q.*').test('.*')).toBe(true);
  });
  it('rejects escapes JavaScript cannot express, naming them', () => {
    for (const bad of ['\\Gfoo', 'a\\Kb', '\\p{Alpha}', '\\X', '\\g<1>', 'ab\\']) {
      expect(errorOf(bad), bad).toMatch(/escape|backslash/);
    }
  });
});

describe('groups and quantifiers', () => {
  it('turns atomic groups into plain groups with a note', () => {
    const t = tr('(?>a+)b');
    expect(t.source).toBe('(?:a+)b');
    expect(t.notes.join()).toMatch(/atomic/);
  });
  it('treats possessive quantifiers as greedy and keeps lazy ones', () => {
    const t = tr('a*+b++c?+d{2,3}+e+?');
    expect(t.source).toBe('a*b+c?d{2,3}e+?');
    expect(t.notes.join()).toMatch(/possessive/);
  });
  it('keeps named groups and converts PCRE/Python spellings', () => {
    expect(tr("(?<ver>\\d+)(?'rel'\\w)(?P<x>y)(?P=x)\\k'ver'", 'pcre').source).toBe('(?<ver>\\d+)(?<rel>\\w)(?<x>y)\\k<x>\\k<ver>');
    expect(ruby('^OpenSSH_(?<v>[\\w.]+)').exec('OpenSSH_9.2p1')?.groups?.['v']).toBe('9.2p1');
  });
  it('makes plain groups non-capturing next to named ones in Ruby, as Ruby does', () => {
    const r = compileRegex('(a)(?<n>b)', { dialect: 'ruby' });
    expect(r.groups).toBe(1);
    expect(r.names).toEqual(['n']);
    expect(r.notes.join()).toMatch(/do not capture/);
    expect(compileRegex('(a)(?<n>b)', { dialect: 'pcre' }).groups).toBe(2);
  });
  it('counts groups for template checks', () => {
    expect(compileRegex('^(a)(?:b)(c)?', { dialect: 'pcre' })).toMatchObject({ groups: 2, names: [] });
  });
  it('reads {,n} as {0,n} and a brace that is no quantifier as a literal', () => {
    expect(tr('a{,3}').source).toBe('a{0,3}');
    expect(ruby('^a{foo}$').test('a{foo}')).toBe(true);
    expect(ruby('^{$').test('{')).toBe(true);
  });
  it('warns about nested unbounded quantifiers', () => {
    expect(tr('^(a+)+$').notes.join()).toMatch(/backtrack/);
    expect(tr('^(?:\\w+\\s?)*$').notes.join()).toMatch(/backtrack/);
    expect(tr('^(ab)+(c*)$').notes).toEqual([]);
  });
  it('rejects group syntax with no JavaScript equivalent', () => {
    for (const bad of ['(?(1)a|b)', '(?~abc)', '(?R)', '(?1)', '(?|a)', '(?U)a']) {
      expect(errorOf(bad, 'pcre'), bad).toMatch(/unsupported/);
    }
  });
});

describe('character classes', () => {
  it('expands POSIX classes inside brackets', () => {
    expect(tr('[[:alpha:][:digit:]_]').source).toBe('[a-zA-Z0-9_]');
    expect(ruby('^[[:xdigit:]]+$').test('0aF')).toBe(true);
    expect(ruby('^[^[:space:]]+$').test('a b')).toBe(false);
    expect(ruby('^[[:punct:]]+$').test('!/:@[`{~')).toBe(true);
    expect(ruby('^[[:punct:]]+$').test('a')).toBe(false);
    expect(ruby('^[[:upper:]][[:lower:]]+$').test('Apache')).toBe(true);
  });
  it('rejects unknown or negated POSIX classes, nested classes and intersections (Ruby)', () => {
    expect(errorOf('[[:foo:]]')).toMatch(/POSIX/);
    expect(errorOf('[[:^alpha:]]')).toMatch(/negated POSIX/);
    expect(errorOf('[a[bc]]')).toMatch(/nested/);
    expect(errorOf('[a-z&&[^aeiou]]')).toMatch(/intersection/);
    expect(pcre('^[a[]+$').test('a[a')).toBe(true);
  });
  it('reads a leading ] as a literal', () => {
    expect(tr('[]a]').source).toBe('[\\]a]');
    expect(ruby('^[^]]+$').test('abc')).toBe(true);
  });
  it('rejects an unterminated class', () => {
    expect(errorOf('[abc')).toMatch(/unterminated/);
  });
});

describe('hostile patterns', () => {
  it('rejects unbalanced parentheses', () => {
    expect(errorOf('(abc')).toMatch(/missing \)/);
    expect(errorOf('abc)')).toMatch(/has no \(/);
  });
  it('rejects a quantifier with nothing to repeat', () => {
    expect(errorOf('*abc')).toMatch(/nothing to repeat/);
    expect(errorOf('a**')).toMatch(/nothing to repeat/);
  });
  it('reports what the JS engine refuses, without throwing anything else', () => {
    expect(errorOf('(?<n>a)(?<n>b)', 'pcre')).toMatch(/not a valid regular expression/);
    expect(errorOf('a{2,1}', 'pcre')).toMatch(/not a valid regular expression/);
  });
  it('caps pattern length and nesting depth', () => {
    expect(errorOf('a'.repeat(MAX_PATTERN_CHARS + 1))).toMatch(/longer than/);
    expect(errorOf(`${'('.repeat(200)}a${')'.repeat(200)}`)).toMatch(/nested deeper/);
  });
  it('survives binary garbage and control characters', () => {
    let seed = 7;
    for (let n = 0; n < 300; n++) {
      let s = '';
      for (let i = 0; i < 40; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += String.fromCharCode(seed % 256);
      }
      try {
        compileRegex(s, { dialect: n % 2 ? 'ruby' : 'pcre' });
      } catch (error) {
        expect(error).toBeInstanceOf(RegexDialectError);
      }
    }
  });
});
