/**
 * Translate Ruby (Onigmo) and PCRE regular expression source to a JavaScript RegExp without the `u`
 * flag. Recog fingerprints are Ruby regexes; user signature files are written PCRE-style. Both differ
 * from JavaScript in ways that silently change what matches (`(?m)`, `\A`, `\h`, POSIX classes), so
 * every construct is either rewritten to an exact equivalent, approximated with a note the caller
 * shows as a warning, or rejected with a `RegexDialectError` that names the construct.
 *
 * Dialect differences that matter here:
 * - Ruby `^`/`$` always match at line boundaries, so Ruby patterns always get the JS `m` flag.
 * - Ruby `(?m)` means dot-matches-newline (JS `s`); PCRE `(?m)` is multiline anchors, `(?s)` dotall.
 * - Ruby `\h` is a hex digit; PCRE `\h` is horizontal whitespace.
 * - In Ruby, once a pattern has a named group, plain `(…)` groups stop capturing.
 *
 * This file walks the pattern (groups, inline flags, quantifiers, anchors); escapes and bracket
 * expressions are translated by regex-dialect-atoms.ts.
 */

import { readBracketClass, readEscape, RegexDialectError, type Anchor, type Cursor } from './regex-dialect-atoms.js';

export { RegexDialectError } from './regex-dialect-atoms.js';

export type RegexDialect = 'ruby' | 'pcre';

export interface TranslateOptions {
  dialect: RegexDialect;
  /** Flags given outside the pattern, JS meanings: `i`, `s` (dot matches newline), `m`, `x` (extended). */
  flags?: string;
}

export interface TranslatedRegex {
  source: string;
  /** JS flags, a subset of `ims`. */
  flags: string;
  /** Approximations made (a scoped flag applied globally, atomic groups, …), one line each. */
  notes: string[];
}

export interface CompiledRegex {
  regex: RegExp;
  notes: string[];
  /** Number of capture groups (what `$N` templates may refer to). */
  groups: number;
  /** Named capture groups (what `${name}` templates may refer to). */
  names: string[];
}

/** Longest pattern accepted; real fingerprints are well under 2 KiB. */
export const MAX_PATTERN_CHARS = 16384;
const MAX_DEPTH = 64;

/** Zero-width assertions for absolute string start/end, valid whether or not `m` is set. */
const ABS_START = '(?<![\\s\\S])';
const ABS_END = '(?![\\s\\S])';

type LastKind = 'none' | 'atom' | 'group' | 'quantifier';
interface Frame {
  x: boolean;
  dotall: boolean;
  unbounded: boolean;
}

/** Translate; throws RegexDialectError for anything JavaScript cannot express. */
export function translateRegex(source: string, options: TranslateOptions): TranslatedRegex {
  if (source.length > MAX_PATTERN_CHARS) throw new RegexDialectError(`pattern is longer than ${MAX_PATTERN_CHARS} characters`);
  const first = new Translator(source, options, false).run();
  // Ruby: a named group turns plain groups non-capturing; translate again so $N numbering matches.
  if (options.dialect === 'ruby' && first.sawNamed && first.sawPlain) {
    const second = new Translator(source, options, true).run();
    second.result.notes.push('named groups present: plain (…) groups do not capture (Ruby semantics)');
    return second.result;
  }
  return first.result;
}

/** Translate and compile (no `u` flag); returns the RegExp and the notes. */
export function compileRegex(source: string, options: TranslateOptions): CompiledRegex {
  const t = translateRegex(source, options);
  let regex: RegExp;
  let probe: RegExpExecArray | null;
  try {
    regex = new RegExp(t.source, t.flags);
    // An empty alternative always matches, so the result's length counts the capture groups.
    probe = new RegExp(`${t.source}|`, t.flags).exec('');
  } catch (error) {
    throw new RegexDialectError(`not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return { regex, notes: t.notes, groups: probe === null ? 0 : probe.length - 1, names: Object.keys(probe?.groups ?? {}) };
}

class Translator {
  readonly #src: string;
  readonly #ruby: boolean;
  readonly #plainNonCapturing: boolean;
  #i = 0;
  readonly #out: (string | Anchor)[] = [];
  readonly #notes = new Set<string>();
  readonly #stack: Frame[] = [];
  #scope: Frame;
  #flagI: boolean;
  #flagM: boolean;
  readonly #flagS: boolean;
  /** What the last emitted item was, for quantifier handling. */
  #last: LastKind = 'none';
  #lastGroupUnbounded = false;
  sawNamed = false;
  sawPlain = false;

  constructor(src: string, options: TranslateOptions, plainNonCapturing: boolean) {
    this.#src = src;
    this.#ruby = options.dialect === 'ruby';
    this.#plainNonCapturing = plainNonCapturing;
    const f = options.flags ?? '';
    const bad = f.replace(/[imsx]/g, '');
    if (bad !== '') throw new RegexDialectError(`unknown flag ${JSON.stringify(bad[0])} (use i, m, s, x)`);
    this.#flagI = f.includes('i');
    this.#flagM = f.includes('m') || this.#ruby;
    this.#flagS = f.includes('s');
    this.#scope = { x: f.includes('x'), dotall: this.#flagS, unbounded: false };
  }

  run(): { result: TranslatedRegex; sawNamed: boolean; sawPlain: boolean } {
    const src = this.#src;
    while (this.#i < src.length) {
      const c = src[this.#i]!;
      if (this.#scope.x && /\s/.test(c)) {
        this.#i++;
      } else if (this.#scope.x && c === '#') {
        const nl = src.indexOf('\n', this.#i);
        this.#i = nl < 0 ? src.length : nl + 1;
      } else if (c === '\\') {
        this.#emit(this.#read((cur) => readEscape(cur, false)), 'atom');
      } else if (c === '[') {
        this.#emit(this.#read(readBracketClass), 'atom');
      } else if (c === '(') {
        this.#open();
      } else if (c === ')') {
        this.#close();
      } else if (c === '*' || c === '+' || c === '?') {
        this.#i++;
        this.#quantifier(c, c !== '?');
      } else if (c === '{') {
        const m = /^\{(\d*)(,?)(\d*)\}/.exec(src.slice(this.#i, this.#i + 24));
        if (m && (m[1] !== '' || (m[2] === ',' && m[3] !== '')) && this.#last !== 'none') {
          this.#i += m[0].length;
          this.#quantifier(`{${m[1] === '' ? '0' : m[1]}${m[2]}${m[3]}}`, m[2] === ',' && m[3] === '');
        } else {
          this.#i++;
          this.#emit('\\{', 'atom');
        }
      } else if (c === '.') {
        this.#i++;
        const dot = this.#scope.dotall === this.#flagS ? '.' : this.#scope.dotall ? '[\\s\\S]' : '[^\\n]';
        this.#emit(dot, 'atom');
      } else {
        this.#i++;
        this.#emit(c === '}' ? '\\}' : c === ']' ? '\\]' : c, c === '^' || c === '$' || c === '|' ? 'none' : 'atom');
      }
    }
    if (this.#stack.length > 0) throw new RegexDialectError('unbalanced parentheses: missing )');
    const source = this.#out.map((p) => (typeof p === 'string' ? p : this.#anchor(p.anchor))).join('');
    const flags = `${this.#flagI ? 'i' : ''}${this.#flagM ? 'm' : ''}${this.#flagS ? 's' : ''}`;
    return { result: { source, flags, notes: [...this.#notes] }, sawNamed: this.sawNamed, sawPlain: this.sawPlain };
  }

  #anchor(a: 'A' | 'z' | 'Z'): string {
    // Without `m`, ^ and $ already mean string start/end; keep the familiar spelling then.
    if (a === 'A') return this.#flagM ? ABS_START : '^';
    if (a === 'z') return this.#flagM ? ABS_END : '$';
    return `(?=\\n?${this.#flagM ? ABS_END : '$'})`;
  }

  /** Let a reader from regex-dialect-atoms.ts translate the atom at #i, and move past it. */
  #read<T>(reader: (cur: Cursor) => T): T {
    const cur: Cursor = { src: this.#src, ruby: this.#ruby, i: this.#i };
    const atom = reader(cur);
    this.#i = cur.i;
    return atom;
  }

  #emit(part: string | Anchor, kind: LastKind): void {
    this.#out.push(part);
    this.#last = kind;
  }

  #quantifier(q: string, unbounded: boolean): void {
    if (this.#last === 'none' || this.#last === 'quantifier') throw new RegexDialectError(`quantifier ${JSON.stringify(q)} at offset ${this.#i - 1} has nothing to repeat`);
    if (unbounded && this.#last === 'group' && this.#lastGroupUnbounded) {
      this.#notes.add('nested unbounded quantifiers (like (a+)+) can backtrack for a very long time on hostile input');
    }
    if (unbounded) this.#scope.unbounded = true;
    const next = this.#src[this.#i];
    if (next === '+') this.#notes.add('possessive quantifiers (*+ ++ ?+) are matched as greedy ones');
    if (next === '?' || next === '+') this.#i++;
    this.#emit(next === '?' ? `${q}?` : q, 'quantifier');
  }

  #push(open: string, scope: Partial<Frame> = {}): void {
    if (this.#stack.length >= MAX_DEPTH) throw new RegexDialectError(`groups nested deeper than ${MAX_DEPTH}`);
    this.#stack.push(this.#scope);
    this.#scope = { x: scope.x ?? this.#scope.x, dotall: scope.dotall ?? this.#scope.dotall, unbounded: false };
    this.#emit(open, 'none');
  }

  #close(): void {
    const parent = this.#stack.pop();
    if (parent === undefined) throw new RegexDialectError(`unbalanced parenthesis: ) at offset ${this.#i} has no (`);
    this.#i++;
    const unbounded = this.#scope.unbounded;
    this.#scope = parent;
    if (unbounded) parent.unbounded = true;
    this.#emit(')', 'group');
    this.#lastGroupUnbounded = unbounded;
  }

  #open(): void {
    const src = this.#src;
    const start = this.#i;
    const rest = src.slice(start, start + 80);
    const keep = ['(?:', '(?=', '(?!', '(?<=', '(?<!'].find((k) => rest.startsWith(k));
    let m: RegExpExecArray | null;
    if (!rest.startsWith('(?')) {
      this.#i++;
      this.sawPlain = true;
      this.#push(this.#plainNonCapturing ? '(?:' : '(');
    } else if (rest.startsWith('(?#')) {
      const end = src.indexOf(')', start);
      if (end < 0) throw new RegexDialectError('unterminated (?# comment');
      this.#i = end + 1;
    } else if (keep !== undefined) {
      this.#i += keep.length;
      this.#push(keep);
    } else if (rest.startsWith('(?>')) {
      this.#notes.add('atomic groups (?>…) are matched as plain groups (JavaScript backtracks into them)');
      this.#i += 3;
      this.#push('(?:');
    } else if ((m = /^\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')/.exec(rest))) {
      this.sawNamed = true;
      this.#i += m[0].length;
      this.#push(`(?<${m[1] ?? m[2]}>`);
    } else if ((m = /^\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest))) {
      this.#i += m[0].length;
      this.#emit(`\\k<${m[1]}>`, 'atom');
    } else if ((m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(rest)) && (m[1] !== '' || m[2] !== undefined)) {
      this.#i += m[0].length;
      const scoped = m[3] === ':';
      const frame = this.#inlineFlags(m[1]!, m[2] ?? '', start, scoped);
      if (scoped) this.#push('(?:', frame);
      else {
        this.#scope.x = frame.x ?? this.#scope.x;
        this.#scope.dotall = frame.dotall ?? this.#scope.dotall;
      }
    } else throw new RegexDialectError(`unsupported group syntax ${JSON.stringify(rest.slice(0, 6))} at offset ${start}`);
  }

  /** Apply inline flags; returns the scope changes (x, dotall) and sets/notes the global ones. */
  #inlineFlags(on: string, off: string, at: number, scoped: boolean): Partial<Frame> {
    const frame: Partial<Frame> = {};
    // Flags at the very start of the pattern, unscoped, apply to all of it: exact, no note.
    const leading = !scoped && this.#stack.length === 0 && this.#out.length === 0;
    for (const [letters, value] of [[on, true], [off, false]] as const) {
      for (const f of letters) {
        if (f === 'x') frame.x = value;
        else if (f === 's' || (f === 'm' && this.#ruby)) frame.dotall = value;
        else if (f === 'i') {
          if (value && !this.#flagI) {
            if (!leading) this.#notes.add(`case-insensitive flag at offset ${at} applied to the whole pattern`);
            this.#flagI = true;
          } else if (!value && this.#flagI) this.#notes.add(`(?-i) at offset ${at} ignored: the pattern stays case-insensitive`);
        } else if (f === 'm') {
          if (value && !this.#flagM) {
            if (!leading) this.#notes.add(`multiline flag at offset ${at} applied to the whole pattern`);
            this.#flagM = true;
          } else if (!value && this.#flagM) this.#notes.add(`(?-m) at offset ${at} ignored: ^ and $ stay line anchors`);
        } else if (this.#ruby && (f === 'a' || f === 'u' || f === 'd')) {
          this.#notes.add(`character-set option (?${f}) ignored`);
        } else throw new RegexDialectError(`unsupported inline flag ${JSON.stringify(f)} at offset ${at}`);
      }
    }
    return frame;
  }
}
