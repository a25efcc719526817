/**
 * Escaping shared by every output format. Hostnames, banners and service fields come from the
 * network or from imported files, so they may carry bytes that drive a terminal (ESC/CSI sequences,
 * backspace and CR to overwrite a line, C1 controls that 8-bit terminals read as CSI), forge lines
 * (LF), reorder what the reader sees (bidi overrides) or break XML (controls are illegal in XML 1.0
 * even as character references). Such characters become visible ASCII escapes (`\x1b`, `\n`,
 * `\u202e`), so the text stays on one line, reads the same everywhere and survives any parser.
 * Backslashes are left alone: the escapes are for the reader's safety, not a reversible encoding.
 */

/**
 * Characters never written raw to a terminal or XML: C0 controls (tab, LF and CR included), DEL,
 * C1 controls, the Arabic letter mark, LRM/RLM, line/paragraph separators, bidi embeddings,
 * overrides and isolates, the BOM, the XML-illegal noncharacters U+FFFE/U+FFFF, and (with the `u`
 * flag a surrogate range only matches an unpaired half) lone surrogates, which no encoder can write.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the purpose
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]/u;

const SHORT: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** The visible escape for one unsafe character. */
function visible(ch: string): string {
  const short = SHORT[ch];
  if (short !== undefined) return short;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

const TERMINAL_RE = new RegExp(UNSAFE.source, 'gu');

/**
 * Makes a string safe to print on a terminal or in a line-oriented file: every control character
 * and every character that could move the cursor, rewrite a line or reorder text becomes a visible
 * escape such as `\x1b`, `\r` or `\u202e`. Printable text, including non-ASCII letters, is kept.
 */
export function escapeTerminal(s: string): string {
  return s.replace(TERMINAL_RE, visible);
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

const XML_TEXT_RE = new RegExp(`[&<>]|${UNSAFE.source}`, 'gu');
const XML_ATTR_RE = new RegExp(`[&<>"']|${UNSAFE.source}`, 'gu');

function xmlReplace(ch: string): string {
  return XML_ENTITIES[ch] ?? visible(ch);
}

/**
 * Escapes character data for an XML 1.0 element: `&`, `<`, `>` (so `]]>` cannot appear) become
 * entities, and characters XML forbids or a terminal would obey become visible escapes as in
 * {@link escapeTerminal}. The result is always well-formed and valid wherever `#PCDATA` is allowed.
 */
export function escapeXmlText(s: string): string {
  return s.replace(XML_TEXT_RE, xmlReplace);
}

/**
 * Escapes a value for a double- or single-quoted XML attribute: as {@link escapeXmlText}, plus both
 * quote characters. Tab, CR and LF are escaped visibly rather than as character references, since
 * a parser would otherwise normalise them to spaces and a viewer would print them raw.
 */
export function escapeXmlAttr(s: string): string {
  return s.replace(XML_ATTR_RE, xmlReplace);
}

/**
 * JSON.stringify already escapes C0 controls, but leaves DEL, C1 controls and bidi characters raw,
 * and JSON Lines goes to terminals as often as to `jq`.
 */
const JSON_EXTRA_RE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g;

/** With the `u` flag a surrogate range matches only unpaired halves. */
const LONE_SURROGATE_RE = /[\ud800-\udfff]/gu;

function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(LONE_SURROGATE_RE, '\ufffd') : value;
}

/**
 * Serialises a value as one JSON line (no trailing newline) whose text contains no raw control or
 * bidi characters: those are written as `\uXXXX` escapes, which decode to the same string, so the
 * data is exact while the line stays inert on a terminal (they can only occur inside JSON strings,
 * where such escapes are always valid). Lone surrogates become U+FFFD, as any UTF-8 encoder would
 * make them, because `jq` and other strict parsers reject a `\ud800` escape without its pair.
 */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, wellFormed).replace(JSON_EXTRA_RE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Characters that Markdown (CommonMark, GFM, GitHub's extensions) reads as markup anywhere in a
 * line: the escape character, code spans, emphasis, links and images, table cells, strikethrough,
 * GitHub math (`$`), headings' closing `#`, and HTML (`<`, `>`, `&`, which become entities).
 */
const MD_INLINE = /[\\`*_[\]|~$#<>&]/;
const MD_RE = new RegExp(`${MD_INLINE.source}|${UNSAFE.source}`, 'gu');
const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

function mdReplace(ch: string): string {
  const entity = HTML_ENTITIES[ch];
  if (entity !== undefined) return entity;
  return MD_INLINE.test(ch) ? `\\${ch}` : visible(ch);
}

/**
 * Escapes text for one line of Markdown: a table cell, a list item, a heading or a paragraph.
 * Markup characters get a backslash (`\|`, `` \` ``, `\[`, `\*`, `\$`, …), `<`, `>` and `&` become
 * entities so no HTML or autolink survives, and control, line-break and bidi characters become
 * visible escapes as in {@link escapeTerminal}, so the text cannot end its line, row or block.
 * Leading and trailing spaces are dropped (leading ones would start an indented code block in a
 * list item), and a list marker, an ordered-list number or a setext underline at the start is
 * escaped so the text cannot open a block of its own. Bare URLs may still be autolinked by GFM.
 */
export function escapeMarkdown(s: string): string {
  const out = s.replace(/^ +| +$/g, '').replace(MD_RE, mdReplace);
  return out.replace(/^([+\-=])/, '\\$1').replace(/^(\d{1,9})([.)])(?=\s|\\|$)/, '$1\\$2');
}

/**
 * At most `max` UTF-16 code units of `s` (a surrogate pair is never split), followed by a note of
 * how much was cut. Renderers clip text from the network so one huge banner cannot swamp a report.
 */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = Math.max(0, Math.floor(max));
  const last = s.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}… (${s.length - end} more characters)`;
}
