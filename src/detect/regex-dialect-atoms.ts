/**
 * The atoms of a Ruby or PCRE pattern whose JavaScript spelling differs: escapes (`\h`, `\A`,
 * `\x{…}`, `\Q…\E`, …) and bracket expressions (POSIX `[:alpha:]` classes, a leading `]`). Each
 * reader translates one atom at a cursor and moves past it; regex-dialect.ts walks the pattern,
 * tracks groups, flags and quantifiers, and calls these.
 */

/** The pattern uses something JavaScript cannot express; the message names it. */
export class RegexDialectError extends Error {
  override readonly name = 'RegexDialectError';
}

/** Where a reader is in the pattern source, and which dialect it reads. */
export interface Cursor {
  readonly src: string;
  readonly ruby: boolean;
  /** Offset of the next character to read; readers move it past what they consume. */
  i: number;
}

/** `\A`, `\z`, `\Z`: spelt once the pattern's final flags are known (see regex-dialect.ts). */
export type Anchor = { anchor: 'A' | 'z' | 'Z' };

const POSIX: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9a-fA-F',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  word: '\\w',
  ascii: '\\x00-\\x7f',
};

const HEX_CLASS = '0-9a-fA-F';
const HSPACE_CLASS = ' \\t\\xa0';

/** Read one escape at `cur.i` (the backslash) and move past it; returns its JS spelling. */
export function readEscape(cur: Cursor, inClass: boolean): string | Anchor {
  const src = cur.src;
  const at = cur.i;
  const c = src[at + 1];
  if (c === undefined) throw new RegexDialectError('pattern ends with a lone backslash');
  cur.i += 2;
  const unsupported = (what: string): never => {
    throw new RegexDialectError(`unsupported escape \\${c} (${what}) at offset ${at}`);
  };
  switch (c) {
    case 'A':
    case 'z':
    case 'Z':
      if (inClass) unsupported('anchor inside a character class');
      return { anchor: c };
    case 'h':
      return cur.ruby ? (inClass ? HEX_CLASS : `[${HEX_CLASS}]`) : inClass ? HSPACE_CLASS : `[${HSPACE_CLASS}]`;
    case 'H':
      if (inClass) return unsupported('negated class inside a character class');
      return cur.ruby ? `[^${HEX_CLASS}]` : `[^${HSPACE_CLASS}]`;
    case 'e':
      return '\\x1b';
    case 'a':
      return '\\x07';
    case 'R':
      if (inClass) unsupported('inside a character class');
      return '(?:\\r\\n|[\\n\\v\\f\\r\\x85\\u2028\\u2029])';
    case 'N':
      if (cur.ruby || inClass) return unsupported('not supported');
      return '[^\\n]';
    case 'x': {
      const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(src.slice(cur.i, cur.i + 9));
      if (braced) {
        cur.i += braced[0].length;
        return codeUnitEscape(parseInt(braced[1]!, 16), at);
      }
      const hex = /^[0-9a-fA-F]{1,2}/.exec(src.slice(cur.i, cur.i + 2));
      if (!hex) return unsupported('needs hex digits');
      cur.i += hex[0].length;
      return codeUnitEscape(parseInt(hex[0], 16), at);
    }
    case 'u': {
      const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(src.slice(cur.i, cur.i + 8));
      if (!m) return unsupported('needs four hex digits or {…}');
      cur.i += m[0].length;
      return codeUnitEscape(parseInt(m[1] ?? m[2]!, 16), at);
    }
    case '0': {
      const oct = /^[0-7]{0,2}/.exec(src.slice(cur.i, cur.i + 2))![0];
      cur.i += oct.length;
      return codeUnitEscape(parseInt(`0${oct}`, 8), at);
    }
    case 'k': {
      const m = /^(?:<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(src.slice(cur.i, cur.i + 70));
      if (!m || inClass) return unsupported('named back-reference must be \\k<name>');
      cur.i += m[0].length;
      return `\\k<${m[1] ?? m[2]}>`;
    }
    case 'Q': {
      if (cur.ruby) return 'Q';
      const end = src.indexOf('\\E', cur.i);
      const literal = src.slice(cur.i, end < 0 ? src.length : end);
      cur.i = end < 0 ? src.length : end + 2;
      return literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    }
    case 'E':
      return cur.ruby ? 'E' : '';
    default:
      // \G \K \X \g \o \p \P (and PCRE's case-folding escapes) have no equivalent without `u`.
      if ('GKXgopPCLlU'.includes(c)) return unsupported('no JavaScript equivalent without the u flag');
      return `\\${c}`;
  }
}

/** Read a bracket expression at `cur.i` (the `[`) and move past it; returns the JS class. */
export function readBracketClass(cur: Cursor): string {
  const src = cur.src;
  const start = cur.i;
  cur.i++;
  let out = '[';
  if (src[cur.i] === '^') {
    out += '^';
    cur.i++;
  }
  // A `]` first in the class is a literal in Ruby and PCRE; in JS `[]` is the empty class.
  if (src[cur.i] === ']') {
    out += '\\]';
    cur.i++;
  }
  for (;;) {
    const c = src[cur.i];
    if (c === undefined) throw new RegexDialectError(`unterminated character class starting at offset ${start}`);
    if (c === ']') {
      cur.i++;
      return `${out}]`;
    }
    if (c === '\\') {
      const e = readEscape(cur, true);
      out += typeof e === 'string' ? e : '';
      continue;
    }
    if (c === '[') {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(cur.i, cur.i + 12));
      if (posix) {
        const body = POSIX[posix[2]!];
        if (body === undefined) throw new RegexDialectError(`unknown POSIX class [:${posix[2]}:] at offset ${cur.i}`);
        if (posix[1] === '^') throw new RegexDialectError(`negated POSIX class [:^${posix[2]}:] is not supported at offset ${cur.i}`);
        out += body;
        cur.i += posix[0].length;
        continue;
      }
      if (cur.ruby) throw new RegexDialectError(`nested character class at offset ${cur.i} is not supported`);
      out += '\\[';
      cur.i++;
      continue;
    }
    if (c === '&' && src[cur.i + 1] === '&' && cur.ruby) {
      throw new RegexDialectError(`character class intersection && at offset ${cur.i} is not supported`);
    }
    out += c;
    cur.i++;
  }
}

/** A JS escape for one code unit; code points beyond the BMP need the u flag. */
function codeUnitEscape(cp: number, at: number): string {
  if (cp > 0xffff) throw new RegexDialectError(`code point U+${cp.toString(16).toUpperCase()} at offset ${at} needs the u flag`);
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}
