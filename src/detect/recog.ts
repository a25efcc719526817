/**
 * Load a Rapid7 Recog fingerprint database (the XML format: `<fingerprints matches="ssh.banner">`
 * holding `<fingerprint pattern="…">` elements with `<param>`s and `<example>`s) into our
 * `Signature` shape, so Recog files run through the same matcher as built-in tables.
 *
 * The XML is hostile input like any file: entities are never expanded (a DOCTYPE with an internal
 * subset is refused outright, so "billion laughs" costs nothing), only the five predefined entities
 * and character references are decoded, and patterns go through regex-dialect.ts (Recog patterns
 * are Ruby regexes).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { cpe23, type CpePart } from '../core/cpe.js';
import { UsageError, quoteToken } from '../core/errors.js';
import { checkRecogExamples } from './recog-examples.js';
import { compileRegex, RegexDialectError, type CompiledRegex } from './regex-dialect.js';
import type { Signature, TemplateField } from './signature.js';
import type { LoadedSignatures } from './signature-file.js';

/** Most signatures (fingerprints) one file may hold. */
export const MAX_SIGNATURES = 50_000;

/**
 * Recog `matches` values we can use: the field a detector fills (Identification.fields; two are
 * spelt differently from Recog) and the nmap service name a match implies. Any
 * `http_header.<name>` is accepted too (service http).
 */
export const RECOG_MATCHES: Readonly<Record<string, { field: string; service: string }>> = {
  'ssh.banner': { field: 'ssh.banner', service: 'ssh' },
  'ftp.banner': { field: 'ftp.banner', service: 'ftp' },
  'smtp.banner': { field: 'smtp.banner', service: 'smtp' },
  'pop3.banner': { field: 'pop3.banner', service: 'pop3' },
  'imap4.banner': { field: 'imap4.banner', service: 'imap' },
  'telnet.banner': { field: 'telnet.banner', service: 'telnet' },
  'html_title': { field: 'html_title', service: 'http' },
  'mysql.banners': { field: 'mysql.banner', service: 'mysql' },
  'mysql.error': { field: 'mysql.error', service: 'mysql' },
  'dns.versionbind': { field: 'dns.version_bind', service: 'domain' },
};

/** Recog file base names, for a database without a `matches` attribute (Recog's own fallback). */
const FILE_MATCHES: Readonly<Record<string, string>> = {
  ssh_banners: 'ssh.banner',
  ftp_banners: 'ftp.banner',
  smtp_banners: 'smtp.banner',
  pop_banners: 'pop3.banner',
  imap_banners: 'imap4.banner',
  telnet_banners: 'telnet.banner',
  html_title: 'html_title',
  http_servers: 'http_header.server',
  mysql_banners: 'mysql.banners',
};

/** How Recog's `flags` attribute maps to JS flags. */
const RECOG_FLAGS: Readonly<Record<string, string>> = {
  REG_ICASE: 'i',
  IGNORECASE: 'i',
  REG_DOT_NEWLINE: 's',
  REG_MULTILINE: 'm',
  REG_LINE_ANY_CRLF: 'm',
};

export interface RecogParam {
  /** 0 for a constant, N for capture group N. */
  pos: number;
  name: string;
  /** The constant (pos 0), entities decoded, `{param}` references still in place. */
  value?: string;
}

export interface RecogExample {
  /** The text the fingerprint should match (base64 already decoded). */
  text: string;
  /** Attributes the match must produce (`service.version` → `7.4`). */
  expect: Record<string, string>;
}

export interface RecogFingerprint {
  /** 0-based index in the file, and the line of its `<fingerprint` tag when known. */
  index: number;
  line?: number;
  description?: string;
  compiled: CompiledRegex;
  params: RecogParam[];
  examples: RecogExample[];
  signature: Signature;
}

export interface RecogDatabase {
  source: string;
  matches: string;
  field: string;
  service: string;
  fingerprints: RecogFingerprint[];
  /** Approximations and skipped constructs, one line each. */
  warnings: string[];
}

/** Print a path without letting control characters reach the terminal. */
export function showPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the purpose
  return path.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The error every signature loader throws: one line per problem, the first few in the message. */
export function signaturesError(source: string, problems: readonly string[], total = problems.length): UsageError {
  const shown = problems.slice(0, 3).join('; ');
  const more = total > 3 ? `; and ${total - 3} more` : '';
  const head = total > 1 ? `${total} problems: ` : '';
  return new UsageError('E_SIGNATURES', `signature file ${showPath(source)}: ${head}${shown}${more}`, {
    token: source,
    problems: problems.map((p) => `${showPath(source)}: ${p}`),
  });
}

const PLACEHOLDER = (n: number): string => `qqportolanref${n}qq`;

/**
 * Turn a CPE template (2.3 formatted string, or a 2.2 URI `cpe:/a:vendor:product:version` as Recog
 * writes them) into a CPE 2.3 template. `resolve` maps a `{param}` reference to a template (`$1`)
 * or constant; `$N` / `${name}` pass through. Undefined when it is not a CPE.
 */
export function cpeTemplateTo23(template: string, resolve: (name: string) => string | undefined = () => undefined): string | undefined {
  const t = template.trim();
  if (t.startsWith('cpe:2.3:')) {
    const parts = t.split(':');
    return parts.length === 13 && /^[aoh]$/.test(parts[2] ?? '') ? t : undefined;
  }
  const m = /^cpe:\/([aoh])((?::[^:]*){0,6})$/i.exec(t);
  if (!m) return undefined;
  const raw: string[] = [];
  // Swap each template reference for a placeholder that cpe23's quoting leaves intact.
  const protect = (s: string): string =>
    s.replace(/\{([A-Za-z0-9_.-]+)\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$\d/g, (all: string, name: string | undefined) => {
      const value = name === undefined ? all : resolve(name);
      if (value === undefined) return '';
      if (name !== undefined && !/\$/.test(value)) return value;
      raw.push(value);
      return PLACEHOLDER(raw.length - 1);
    });
  const fields = m[2]!.split(':').slice(1).map((f) => {
    let decoded = f;
    try {
      decoded = decodeURIComponent(f);
    } catch {
      /* keep the raw text: a stray % is just a character */
    }
    const v = protect(decoded);
    return v === '' ? undefined : v;
  });
  const [vendor, product, version, update] = fields;
  if (vendor === undefined || product === undefined) return undefined;
  let out = cpe23(m[1]!.toLowerCase() as CpePart, vendor, product, version, update);
  raw.forEach((r, i) => (out = out.replace(PLACEHOLDER(i), r)));
  return out;
}

/** A problem with one fingerprint (or an attribute) that the loader reports with its location. */
class FingerprintError extends Error {}

/** Decode the predefined XML entities and character references; anything else is refused. */
export function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]*);/g, (_all, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new FingerprintError(`bad character reference &${ref};`);
      return String.fromCodePoint(cp);
    }
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    const v = named[ref];
    if (v === undefined) throw new FingerprintError(`undefined entity &${ref}; (only &lt; &gt; &amp; &quot; &apos; are allowed)`);
    return v;
  });
}

type XmlNode = Record<string, unknown>;
const attr = (n: XmlNode, name: string): string | undefined => (typeof n[`@_${name}`] === 'string' ? decodeXmlText(n[`@_${name}`] as string) : undefined);
const kids = (n: XmlNode, name: string): XmlNode[] => (Array.isArray(n[name]) ? (n[name] as unknown[]).filter((k): k is XmlNode => typeof k === 'object' && k !== null) : []);
const text = (n: XmlNode): string => (typeof n['#text'] === 'string' ? decodeXmlText(n['#text']) : '');

/** Line numbers of each `<fingerprint` tag, comments and CDATA blanked so they cannot shift the count. */
function fingerprintLines(xml: string): number[] {
  const blanked = xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (s) => s.replace(/[^\n]/g, ' '));
  const lines: number[] = [];
  let line = 1;
  let last = 0;
  for (const m of blanked.matchAll(/<fingerprint(?=[\s/>])/g)) {
    for (let i = last; i < m.index; i++) if (blanked.charCodeAt(i) === 10) line++;
    last = m.index;
    lines.push(line);
  }
  return lines;
}

/** What `matches` value a database declares (or its file name implies) and what we map it to. */
function mapMatches(declared: string | undefined, source: string): { matches: string; field: string; service: string } {
  const base = (source.split(/[\\/]/).pop() ?? '').replace(/\.xml$/i, '');
  const matches = declared ?? FILE_MATCHES[base] ?? base;
  const known = RECOG_MATCHES[matches];
  if (known) return { matches, ...known };
  if (/^http_header\.[a-z0-9_-]+$/i.test(matches)) return { matches, field: matches.toLowerCase(), service: 'http' };
  throw signaturesError(source, [
    `Recog database matches=${quoteToken(matches)} is not supported; use one of ${Object.keys(RECOG_MATCHES).join(', ')}, http_header.<name>`,
  ]);
}

/** Refuse what a safe loader must never process; cheap checks before the XML parser runs. */
function refuseHostileXml(xml: string, source: string): void {
  if (/<!DOCTYPE[^>[]*\[/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw signaturesError(source, ['the XML declares entities (a DOCTYPE with an internal subset); remove the <!DOCTYPE …[ … ]> block, Recog files need none']);
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw signaturesError(source, [`malformed XML at line ${valid.err.line}: ${valid.err.msg}`]);
}

/** Parse a Recog XML database. Throws UsageError (E_SIGNATURES) listing every bad fingerprint. */
export function parseRecogXml(xml: string, source: string): RecogDatabase {
  refuseHostileXml(xml, source);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    alwaysCreateTextNode: true,
    isArray: (name) => ['fingerprint', 'example', 'param', 'description'].includes(name),
  });
  let root: unknown;
  let declared: string | undefined;
  try {
    root = (parser.parse(xml) as XmlNode)['fingerprints'];
    if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new FingerprintError('not a Recog database: the root element must be <fingerprints>');
    declared = attr(root as XmlNode, 'matches');
  } catch (error) {
    throw signaturesError(source, [error instanceof FingerprintError ? error.message : `malformed XML: ${(error as Error).message}`]);
  }
  const problems: string[] = [];
  let total = 0;
  const problem = (p: string): void => {
    if (++total <= 20) problems.push(p);
  };
  const db = { source, ...mapMatches(declared, source), fingerprints: [] as RecogFingerprint[], warnings: [] as string[] };
  const nodes = kids(root as XmlNode, 'fingerprint');
  if (nodes.length === 0) throw signaturesError(source, ['the database holds no <fingerprint> elements']);
  if (nodes.length > MAX_SIGNATURES) throw signaturesError(source, [`${nodes.length} fingerprints; at most ${MAX_SIGNATURES} per file, split it`]);
  const lines = fingerprintLines(xml);
  const lineOf = lines.length === nodes.length ? (i: number) => lines[i] : () => undefined;
  nodes.forEach((node, index) => {
    const line = lineOf(index);
    const where = `fingerprint ${index + 1}${line !== undefined ? ` (line ${line})` : ''}`;
    try {
      const fp = parseFingerprint(node, index, db, (w) => db.warnings.push(`${where}: ${w}`));
      if (line !== undefined) fp.line = line;
      fp.signature.origin = `${source}:${line ?? `#${index + 1}`}`;
      db.fingerprints.push(fp);
    } catch (error) {
      if (error instanceof RegexDialectError || error instanceof FingerprintError) problem(`${where}: ${error.message}`);
      else throw error;
    }
  });
  if (total > 0) throw signaturesError(source, problems, total);
  return db;
}

/** One `<fingerprint>` → its compiled pattern, params, examples and Signature. */
function parseFingerprint(node: XmlNode, index: number, db: { field: string; service: string }, warn: (w: string) => void): RecogFingerprint {
  const pattern = attr(node, 'pattern');
  if (pattern === undefined) throw new FingerprintError('has no pattern attribute; add pattern="…"');
  let flags = '';
  for (const f of (attr(node, 'flags') ?? '').split(/[\s,|]+/).filter((x) => x !== '')) {
    const js = RECOG_FLAGS[f];
    if (js === undefined) warn(`unknown flag ${quoteToken(f)} ignored`);
    else if (!flags.includes(js)) flags += js;
  }
  let compiled: CompiledRegex;
  try {
    compiled = compileRegex(pattern, { dialect: 'ruby', flags });
  } catch (error) {
    if (error instanceof RegexDialectError) throw new RegexDialectError(`pattern ${quoteToken(pattern)}: ${error.message}`);
    throw error;
  }
  for (const n of compiled.notes) warn(n);
  const params: RecogParam[] = [];
  for (const p of kids(node, 'param')) {
    const name = attr(p, 'name');
    const posText = attr(p, 'pos') ?? '';
    if (name === undefined || !/^\d{1,3}$/.test(posText)) throw new FingerprintError('a <param> needs name="…" and a numeric pos="…"');
    const pos = Number(posText);
    if (pos > compiled.groups) throw new FingerprintError(`param ${quoteToken(name)} uses group ${pos} but the pattern has ${compiled.groups}`);
    const value = attr(p, 'value');
    params.push(pos === 0 ? { pos, name, value: value ?? '' } : { pos, name });
  }
  const examples: RecogExample[] = [];
  for (const e of kids(node, 'example')) {
    // `_filename` examples live in files beside Recog's database; we read only the one file.
    if (attr(e, '_filename') !== undefined) continue;
    let body = text(e);
    const encoding = attr(e, '_encoding');
    if (encoding === 'base64') body = Buffer.from(body.trim(), 'base64').toString('latin1');
    else if (encoding !== undefined) {
      warn(`example encoding ${quoteToken(encoding)} not supported; example skipped`);
      continue;
    }
    const expect: Record<string, string> = {};
    for (const key of Object.keys(e)) {
      if (key.startsWith('@_') && !key.startsWith('@__')) expect[key.slice(2)] = attr(e, key.slice(2)) ?? '';
    }
    examples.push({ text: body, expect });
  }
  const description = kids(node, 'description')[0];
  const certainty = Number(attr(node, 'certainty'));
  const signature = toSignature(compiled.regex, params, db);
  if (Number.isFinite(certainty) && certainty >= 0 && certainty <= 1) signature.confidence = Math.round(certainty * 10);
  const fp: RecogFingerprint = { index, compiled, params, examples, signature };
  if (description) fp.description = text(description).trim();
  return fp;
}

/** Recog params → Signature templates (mapping documented in docs/signatures.md). */
function toSignature(pattern: RegExp, params: readonly RecogParam[], db: { field: string; service: string }): Signature {
  const byName = new Map<string, RecogParam>();
  for (const p of params) if (!byName.has(p.name)) byName.set(p.name, p);
  // A param's template: `$N` for a capture, the constant (with {refs} resolved one level) for pos 0.
  const raw = (name: string): string | undefined => {
    const p = byName.get(name);
    if (p === undefined) return undefined;
    return p.pos > 0 ? `$${p.pos}` : p.value;
  };
  const tpl = (name: string): string | undefined => raw(name)?.replace(/\{([A-Za-z0-9_.-]+)\}/g, (all, ref: string) => (ref === name ? all : raw(ref) ?? ''));
  const join = (...names: string[]): string | undefined => {
    const parts = names.map(tpl).filter((v): v is string => v !== undefined && v !== '');
    return parts.length > 0 ? parts.join(' ') : undefined;
  };
  const sig: Signature = { service: db.service, field: db.field, pattern };
  const set = (key: TemplateField, value: string | undefined): void => {
    if (value !== undefined && value !== '') sig[key] = value;
  };
  set('product', tpl('service.product') ?? tpl('service.family'));
  set('version', tpl('service.version'));
  set('ostype', tpl('os.family') ?? tpl('os.product'));
  set('devicetype', tpl('hw.device') ?? tpl('os.device'));
  set('hostname', tpl('host.name'));
  set('extrainfo', byName.has('os.product') ? join('os.product', 'os.version') : join('hw.vendor', 'hw.product'));
  const cpes: string[] = [];
  for (const key of ['service.cpe23', 'os.cpe23', 'hw.cpe23']) {
    const t = raw(key);
    if (t === undefined) continue;
    const c = cpeTemplateTo23(t, (ref) => (ref === key ? undefined : tpl(ref)));
    if (c === undefined) throw new FingerprintError(`param ${key} value ${quoteToken(t)} is not a CPE (cpe:/a:vendor:product:{service.version} or cpe:2.3:…)`);
    cpes.push(c);
  }
  const vendor = byName.get('service.vendor');
  const product = byName.get('service.product');
  if (!byName.has('service.cpe23') && vendor?.pos === 0 && product?.pos === 0 && vendor.value && product.value) {
    const version = tpl('service.version');
    const c = cpeTemplateTo23(`cpe:/a:${encodeURIComponent(vendor.value)}:${encodeURIComponent(product.value)}${version !== undefined ? ':{v}' : ''}`, () => version);
    if (c !== undefined) cpes.push(c);
  }
  if (cpes.length > 0) sig.cpe = cpes;
  return sig;
}

/** Parse a Recog database, check its examples, and return the signatures with warnings. */
export function loadRecogText(xml: string, source: string): LoadedSignatures {
  const db = parseRecogXml(xml, source);
  const warnings = [...db.warnings];
  for (const f of checkRecogExamples(db)) {
    warnings.push(`fingerprint ${f.fingerprint}${f.line !== undefined ? ` (line ${f.line})` : ''} example ${f.example}: ${f.message}`);
  }
  return { signatures: db.fingerprints.map((f) => f.signature), probes: [], source, warnings };
}
