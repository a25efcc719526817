/**
 * Signatures users add with `--signatures FILE`: our own JSON/YAML format (docs/signatures.md) or a
 * Rapid7 Recog XML database (recog.ts). Both become `Signature[]` for `matchSignatures`, plus the
 * probes user signatures define (bytes to send before matching the reply).
 *
 * A signature file is user input: every problem is a `UsageError` with code `E_SIGNATURES` whose
 * message names the file, the signature (index and line) and what to fix. Files are capped in size
 * and signature count, YAML aliases are capped (no "billion laughs"), and no YAML tag is resolved.
 */
import { open } from 'node:fs/promises';
import { isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { quoteToken } from '../core/errors.js';
import { cpeTemplateTo23, loadRecogText, MAX_SIGNATURES, signaturesError } from './recog.js';
import { compileRegex, MAX_PATTERN_CHARS, RegexDialectError } from './regex-dialect.js';
import { applySignature, type Signature, type SignatureProbe, TEMPLATE_FIELDS } from './signature.js';

export interface LoadedSignatures {
  signatures: Signature[];
  /** Probes the signatures use, each once (signatures sharing a probe point at the same object). */
  probes: SignatureProbe[];
  /** The path as given, for messages. */
  source: string;
  /** Non-fatal findings for the CLI to print: failing Recog examples, approximated regex features, unused probes. */
  warnings: string[];
}

/** Largest signature file read; Recog's biggest database is a few MiB. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;
/** Most probes one file may define. */
export const MAX_PROBES = 256;
/** Longest probe payload, in bytes. */
export const MAX_PAYLOAD_BYTES = 4096;
/** YAML aliases allowed; a legitimate file needs few, an alias bomb needs many. */
const MAX_YAML_ALIASES = 100;
/** Problems kept (and checked in full) before the rest are only counted. */
const MAX_PROBLEMS = 20;

/**
 * Field prefixes detectors fill (Identification.fields: `ssh.banner`, `http_header.server`,
 * `redis.version`, …); a `field:` outside them gets a warning, since nothing would ever match it.
 */
export const FIELD_PREFIXES: readonly string[] = [
  'ssh', 'ftp', 'smtp', 'pop3', 'imap4', 'telnet', 'http', 'http_header', 'html_title', 'mysql', 'postgresql', 'redis', 'memcached', 'mongodb',
  'mqtt', 'amqp', 'nats', 'dns', 'ldap', 'smb', 'rdp', 'vnc', 'rsync', 'irc', 'xmpp', 'git',
];

const FIELD_RE = /^[a-z][a-z0-9_]*(?:\.[a-z0-9_][a-z0-9_-]*)*$/;
const TEMPLATE = z.string().max(512);

const ProbeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'use 1-64 letters, digits, _ . -'),
  send: z.string().max(MAX_PAYLOAD_BYTES * 4),
  ports: z.array(z.number().int().min(1).max(65535)).max(1024).optional(),
  rarity: z.number().int().min(1).max(9).optional(),
  tls: z.boolean().optional(),
});

/** A reply (or field value) the signature must match, and fields the match must produce. */
const ExampleSchema = z.strictObject({
  reply: z.string().max(MAX_PAYLOAD_BYTES * 4),
  expect: z.partialRecord(z.enum(['service', ...TEMPLATE_FIELDS, 'cpe']), z.string().max(512)).optional(),
});

const SignatureSchema = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9_.+-]{0,63}$/i, "use nmap's service name, e.g. ssh, http"),
  match: z.string().min(1).max(MAX_PATTERN_CHARS),
  flags: z.string().regex(/^[imsx]{0,4}$/, 'use letters i, s, m, x').optional(),
  field: z.string().regex(FIELD_RE, 'use a field name like ssh.banner or http_header.server').optional(),
  description: z.string().max(1000).optional(),
  product: TEMPLATE.optional(),
  version: TEMPLATE.optional(),
  extrainfo: TEMPLATE.optional(),
  ostype: TEMPLATE.optional(),
  devicetype: TEMPLATE.optional(),
  hostname: TEMPLATE.optional(),
  cpe: z.union([TEMPLATE, z.array(TEMPLATE).max(16)]).optional(),
  confidence: z.number().int().min(0).max(10).optional(),
  probe: z.unknown().optional(),
  examples: z.array(ExampleSchema).max(64).optional(),
});

const FileSchema = z.strictObject({
  signatures: z.array(z.unknown()).min(1, 'the list is empty; add at least one signature').max(MAX_SIGNATURES),
  probes: z.array(z.unknown()).max(MAX_PROBES).optional(),
});

/** First zod issue as `path: message`. */
function issue(error: z.ZodError, prefix = ''): string {
  const first = error.issues[0];
  if (first === undefined) return 'invalid';
  const path = [prefix, ...first.path.map(String)].filter((p) => p !== '').join('.');
  const message = first.code === 'invalid_type' && first.message.endsWith('received undefined') ? 'missing; it is required' : first.message;
  return `${path === '' ? '' : `${path}: `}${message}`;
}

/**
 * Decode a probe payload written with escapes (`HELLO\r\n\x00`): \r \n \t \0 \a \e \f \v \\ \" \'
 * and \xHH. Characters up to U+00FF are one byte each (Latin-1, the way replies are matched).
 */
export function parsePayload(text: string): Buffer {
  const bytes: number[] = [];
  const simple: Record<string, number> = { r: 13, n: 10, t: 9, '0': 0, a: 7, e: 27, f: 12, v: 11, '\\': 92, '"': 34, "'": 39 };
  for (let i = 0; i < text.length; i++) {
    if (bytes.length > MAX_PAYLOAD_BYTES) break;
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0xff) throw new Error(`character ${quoteToken(text[i]!)} is not a byte; write bytes as \\xHH`);
      bytes.push(c);
      continue;
    }
    const e = text[i + 1];
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (e !== undefined && simple[e] !== undefined) {
      bytes.push(simple[e]);
      i += 1;
    } else throw new Error(`unknown escape ${quoteToken(`\\${e ?? ''}`)}; use \\r \\n \\t \\0 \\xHH \\\\`);
  }
  if (bytes.length > MAX_PAYLOAD_BYTES) throw new Error(`payload is longer than ${MAX_PAYLOAD_BYTES} bytes`);
  return Buffer.from(bytes);
}

/** Build a SignatureProbe from its validated definition. */
function toProbe(def: z.infer<typeof ProbeSchema>): SignatureProbe {
  const probe: SignatureProbe = { name: def.name, payload: parsePayload(def.send), ports: [...new Set(def.ports ?? [])], rarity: def.rarity ?? 5 };
  if (def.tls !== undefined) probe.tls = def.tls;
  return probe;
}

const sameProbe = (a: SignatureProbe, b: SignatureProbe): boolean =>
  a.payload.equals(b.payload) && a.rarity === b.rarity && a.tls === b.tls && a.ports.join() === b.ports.join();

/** Template references (`$N`, `${name}`) the pattern does not define; a message naming the first. */
function badTemplate(template: string, groups: number, names: readonly string[]): string | undefined {
  for (const m of template.matchAll(/\$(\d)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    if (m[1] !== undefined && Number(m[1]) > groups) return `$${m[1]} but the pattern has ${groups} capture group${groups === 1 ? '' : 's'}`;
    if (m[2] !== undefined && !names.includes(m[2])) return `\${${m[2]}} but the pattern has no group (?<${m[2]}>…)`;
  }
  return undefined;
}

/** Where signature i starts: `lineOf` may be costly (JSON re-read as YAML), so it is only asked for messages unless `cheap`. */
export interface LineLookup {
  lineOf?: (i: number) => number | undefined;
  cheap?: boolean;
}

/** Parse our JSON/YAML format from already-decoded data. */
export function parseUserSignatures(data: unknown, source: string, lines: LineLookup = {}): LoadedSignatures {
  const top = FileSchema.safeParse(data);
  if (!top.success) {
    const hint = typeof data !== 'object' || data === null || Array.isArray(data) ? ' (the file must be a mapping with a top-level signatures: list)' : '';
    throw signaturesError(source, [`${issue(top.error)}${hint}`]);
  }
  const problems: string[] = [];
  let total = 0;
  const problem = (p: string): void => {
    if (++total <= MAX_PROBLEMS) problems.push(p);
  };
  const warnings: string[] = [];
  const probes = new Map<string, SignatureProbe>();
  const used = new Set<string>();
  const define = (raw: unknown, where: () => string): SignatureProbe | undefined => {
    const parsed = ProbeSchema.safeParse(raw);
    if (!parsed.success) return void problem(`${where()}: ${issue(parsed.error, 'probe')}`);
    let probe: SignatureProbe;
    try {
      probe = toProbe(parsed.data);
    } catch (error) {
      return void problem(`${where()}: probe.send: ${(error as Error).message}`);
    }
    const existing = probes.get(probe.name);
    if (existing === undefined) probes.set(probe.name, probe);
    else if (!sameProbe(existing, probe)) return void problem(`${where()}: probe ${quoteToken(probe.name)} is defined twice with different contents; give one a new name`);
    return existing ?? probe;
  };
  (top.data.probes ?? []).forEach((raw, i) => define(raw, () => `probes[${i}]`));

  const signatures: Signature[] = [];
  top.data.signatures.forEach((raw, i) => {
    let located: number | undefined | null = null;
    const lineOf = (): number | undefined => (located === null ? (located = lines.lineOf?.(i)) : located);
    const at = (): string => `signature ${i + 1}${lineOf() !== undefined ? ` (line ${lineOf()})` : ''}`;
    const parsed = SignatureSchema.safeParse(raw);
    if (!parsed.success) return problem(`${at()}: ${issue(parsed.error)}`);
    const def = parsed.data;
    let compiled;
    try {
      compiled = compileRegex(def.match, { dialect: 'pcre', flags: def.flags ?? '' });
    } catch (error) {
      if (!(error instanceof RegexDialectError)) throw error;
      return problem(`${at()}: match ${quoteToken(def.match)}: ${error.message}`);
    }
    for (const n of compiled.notes) warnings.push(`${at()}: ${n}`);
    const line = lines.cheap ? lineOf() : undefined;
    const sig: Signature = { service: def.service.toLowerCase(), pattern: compiled.regex, origin: `${source}:${line ?? `#${i + 1}`}` };
    if (def.field !== undefined) {
      sig.field = def.field;
      if (!FIELD_PREFIXES.includes(def.field.split('.')[0]!)) {
        warnings.push(`${at()}: field ${quoteToken(def.field)} is not one portolan fills (see docs/signatures.md); the signature may never match`);
      }
    }
    for (const key of TEMPLATE_FIELDS) {
      const t = def[key];
      if (t === undefined) continue;
      const bad = badTemplate(t, compiled.groups, compiled.names);
      if (bad !== undefined) return problem(`${at()}: ${key} uses ${bad}`);
      sig[key] = t;
    }
    const cpes = def.cpe === undefined ? [] : typeof def.cpe === 'string' ? [def.cpe] : def.cpe;
    for (const c of cpes) {
      const c23 = cpeTemplateTo23(c);
      if (c23 === undefined) return problem(`${at()}: cpe ${quoteToken(c)} is not a CPE; write cpe:2.3:a:vendor:product:$1:*:*:*:*:*:*:* or cpe:/a:vendor:product:$1`);
      const bad = badTemplate(c23, compiled.groups, compiled.names);
      if (bad !== undefined) return problem(`${at()}: cpe uses ${bad}`);
      (sig.cpe ??= []).push(c23);
    }
    if (def.confidence !== undefined) sig.confidence = def.confidence;
    if (typeof def.probe === 'string') {
      const p = probes.get(def.probe);
      if (p === undefined) return problem(`${at()}: probe ${quoteToken(def.probe)} is not defined; define it under probes: or inline as probe: { name, send }`);
      sig.probe = p;
    } else if (def.probe !== undefined) {
      const p = define(def.probe, at);
      if (p === undefined) return;
      sig.probe = p;
    }
    if (sig.probe) used.add(sig.probe.name);
    (def.examples ?? []).forEach((ex, n) => {
      const failure = checkExample(sig, ex);
      if (failure !== undefined) warnings.push(`${at()} example ${n + 1}: ${failure}`);
    });
    signatures.push(sig);
  });
  if (total > 0) throw signaturesError(source, problems, total);
  for (const name of probes.keys()) if (!used.has(name)) warnings.push(`probe ${quoteToken(name)} is not used by any signature`);
  return { signatures, probes: [...probes.values()].filter((p) => used.has(p.name)), source, warnings };
}

/** Why a signature's example fails (undefined when it passes). The reply uses probe-style escapes. */
function checkExample(sig: Signature, ex: z.infer<typeof ExampleSchema>): string | undefined {
  let reply: Buffer;
  try {
    reply = parsePayload(ex.reply);
  } catch (error) {
    return `reply: ${(error as Error).message}`;
  }
  const id = sig.field === undefined ? applySignature(sig, reply) : applySignature(sig, undefined, { [sig.field]: reply.toString('latin1') });
  if (id === undefined) return `does not match ${quoteToken(ex.reply)}`;
  for (const [key, want] of Object.entries(ex.expect ?? {})) {
    const got = key === 'cpe' ? id.cpe?.[0] : id[key as keyof typeof id];
    if (got !== want) return `${key} is ${typeof got === 'string' ? quoteToken(got) : 'missing'}, the example expects ${quoteToken(want)}`;
  }
  return undefined;
}

/** Parse YAML safely: core schema, no tags resolved, aliases capped; returns data and line lookup. */
function parseYaml(text: string, source: string): { data: unknown; lineOf: (i: number) => number | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'core', customTags: [], resolveKnownTags: false, merge: false, uniqueKeys: true, prettyErrors: false, lineCounter });
  const first = doc.errors[0] ?? doc.warnings[0];
  if (first !== undefined) {
    const at = lineCounter.linePos(first.pos[0]);
    const msg = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw signaturesError(source, [`not valid YAML or JSON at line ${at.line}: ${msg}`]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    throw signaturesError(source, [`YAML rejected: ${(error as Error).message}; expand the aliases (*name) by hand`]);
  }
  const seq = doc.get('signatures', true);
  const lineOf = (i: number): number | undefined => {
    if (!isSeq(seq)) return undefined;
    const item = seq.items[i] as { range?: [number, number, number] } | undefined;
    return item?.range ? lineCounter.linePos(item.range[0]).line : undefined;
  };
  return { data, lineOf };
}

/** Parse signature file text, sniffing the format: Recog XML, else JSON if it parses, else YAML. */
export function parseSignatureText(text: string, source: string): LoadedSignatures {
  const body = text.replace(/^\uFEFF/, '');
  const head = body.trimStart();
  if (head === '') throw signaturesError(source, ['the file is empty; add a top-level signatures: list (see docs/signatures.md)']);
  if (/^<(?:\?xml|fingerprints|!--|!DOCTYPE)/i.test(head)) return loadRecogText(body, source);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const { data, lineOf } = parseYaml(body, source);
    return parseUserSignatures(data, source, { lineOf, cheap: true });
  }
  // JSON.parse knows no lines; YAML (a superset) does, so re-read the text only for a message.
  let lineOf: ((i: number) => number | undefined) | undefined;
  return parseUserSignatures(json, source, {
    lineOf: (i) => {
      try {
        lineOf ??= parseYaml(body, source).lineOf;
      } catch {
        lineOf = () => undefined;
      }
      return lineOf(i);
    },
  });
}

/** Read at most `max` bytes (plus one, to detect "too big") from a file of any kind (FIFOs, /dev/zero). */
async function readBounded(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (info.size > max) return Buffer.alloc(max + 1);
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= max) {
      const chunk = Buffer.alloc(Math.min(1 << 20, max + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

/**
 * Load `--signatures FILE`: a Recog XML database or our JSON/YAML format (sniffed by content).
 * Throws UsageError `E_SIGNATURES` for anything wrong with the file.
 */
export async function loadSignatureFile(path: string): Promise<LoadedSignatures> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(path, MAX_FILE_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory; name a file' : (error as Error).message;
    throw signaturesError(path, [`cannot read it: ${why}`]);
  }
  if (bytes.length > MAX_FILE_BYTES) throw signaturesError(path, [`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; split it into smaller files`]);
  if (bytes.includes(0)) throw signaturesError(path, ['binary data (NUL bytes); expected a JSON, YAML or Recog XML text file']);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw signaturesError(path, ['not UTF-8 text; expected a JSON, YAML or Recog XML text file']);
  }
  return parseSignatureText(text, path);
}
